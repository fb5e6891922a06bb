/*
Copyright 2026 The gitlab-job-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// JobActionSpec is one action on one GitLab job. It is immutable: to act again,
// create another JobAction.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: create a new JobAction to act again"
// +kubebuilder:validation:XValidation:rule="[has(self.jobID), has(self.pipelineID), has(self.ref)].filter(x, x).size() == 1",message="set exactly one target: jobID, pipelineID with jobName, or ref with jobName"
// +kubebuilder:validation:XValidation:rule="has(self.jobID) ? !has(self.jobName) : has(self.jobName)",message="jobName is required with pipelineID or ref, and must not be set with jobID"
// +kubebuilder:validation:XValidation:rule="!has(self.variables) || self.action == 'Play'",message="variables are allowed only when action is Play"
// +kubebuilder:validation:XValidation:rule="!has(self.force) || !self.force || self.action == 'Cancel'",message="force is allowed only when action is Cancel"
type JobActionSpec struct {
	// connectionRef names the GitLabConnection, in the same namespace, to act through.
	// +required
	ConnectionRef ConnectionReference `json:"connectionRef"`

	// project is the GitLab project: its numeric id (42, or "42"), or its full path
	// such as group/app or group/subgroup/app, as in the project's web address.
	// +required
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) != int || self >= 1",message="project must be a numeric id of 1 or more, or a full path such as group/app"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || size(self) <= 255",message="project must be at most 255 characters"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || self.matches('^([0-9]+|[a-zA-Z0-9_.][a-zA-Z0-9_.-]*(/[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)+)$')",message="project must be a numeric id or a full path such as group/app (a path, not a URL or a project name alone)"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || !self.matches('^0+$')",message="project must be a numeric id of 1 or more, or a full path such as group/app"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || !self.endsWith('.git')",message="project is a path such as group/app, without the .git of a clone URL"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || !self.contains('..')",message="project must not contain '..': write the full path, such as group/app"
	Project intstr.IntOrString `json:"project"`

	// action is what to do: Retry a finished job, Play a manual job, Cancel a job that
	// has not finished, or Erase a finished job's log and artifacts.
	// +required
	Action ActionType `json:"action"`

	// jobID targets one job by its id.
	// +optional
	// +kubebuilder:validation:Minimum=1
	JobID int64 `json:"jobID,omitempty"`

	// pipelineID, with jobName, targets the newest attempt of that job (or trigger job)
	// in that pipeline.
	// +optional
	// +kubebuilder:validation:Minimum=1
	PipelineID int64 `json:"pipelineID,omitempty"`

	// ref, with jobName, targets the newest job of that name on that branch or tag.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="!self.matches(r'[\\x00-\\x20~^:?*\\[\\\\\\x7f]') && !self.contains('..') && !self.contains('@{') && !self.contains('//') && !self.startsWith('/') && !self.startsWith('-') && !self.endsWith('/') && !self.endsWith('.') && !self.endsWith('.lock')",message="ref must be a branch or tag name as git allows it: no spaces, no '..', '~', '^', ':', '?', '*', '[' or backslash, and not ending in '/', '.' or '.lock'"
	Ref string `json:"ref,omitempty"`

	// jobName is the job's name in .gitlab-ci.yml; used with pipelineID or ref.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	JobName string `json:"jobName,omitempty"`

	// variables are passed to the job when action is Play.
	// +optional
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=50
	Variables []PlayVariable `json:"variables,omitempty"`

	// force, with action Cancel, cancels the job even if it is already canceling.
	// +optional
	Force bool `json:"force,omitempty"`

	// requester is the CI job asking for this action, proven by its own CI_JOB_TOKEN.
	// The action is then allowed only if that job is running, in the target's project,
	// and (when the connection sets agentID) allowed to use this cluster's agent.
	// The action itself is made with the connection's token.
	// +optional
	Requester *Requester `json:"requester,omitempty"`

	// followResult, when true, tracks the job that results (for Retry, the new job) until
	// it finishes, and completes only then: Complete if it succeeded, Failed if not.
	// When false, the JobAction completes as soon as GitLab accepts the action.
	// Cancel and Erase always complete on GitLab's answer.
	// +optional
	// +kubebuilder:default=true
	FollowResult *bool `json:"followResult,omitempty"`

	// ttlSecondsAfterFinished deletes the JobAction this many seconds after it completes
	// or fails. Unset keeps it.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=31536000
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// Requester is a CI job that asks for an action.
type Requester struct {
	// jobTokenSecretRef names the Secret key, in the same namespace, holding the
	// requesting job's CI_JOB_TOKEN.
	// +required
	JobTokenSecretRef TokenSecretReference `json:"jobTokenSecretRef"`
}

// RequesterStatus is who asked for the action, as GitLab answered for the job token.
type RequesterStatus struct {
	// jobID is the requesting job's id.
	// +optional
	JobID int64 `json:"jobID,omitempty"`

	// pipelineID is the requesting job's pipeline.
	// +optional
	PipelineID int64 `json:"pipelineID,omitempty"`

	// projectID is the requesting job's project.
	// +optional
	ProjectID int64 `json:"projectID,omitempty"`

	// username is the GitLab user the requesting job runs as.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Username string `json:"username,omitempty"`
}

// JobActionStatus is what happened.
type JobActionStatus struct {
	// conditions: exactly one of Complete, Failed and Progressing is True. Complete and
	// Failed are terminal (kubectl wait --for=condition=Complete).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// targetJob is the job the action applies to, once resolved.
	// +optional
	TargetJob *JobSummary `json:"targetJob,omitempty"`

	// resultJob is the job that resulted: for Retry the new job, otherwise the target.
	// +optional
	ResultJob *JobSummary `json:"resultJob,omitempty"`

	// requester is who asked, when spec.requester is set.
	// +optional
	Requester *RequesterStatus `json:"requester,omitempty"`

	// intentTime is when the operator decided to call GitLab. It is recorded before the
	// call, so that after a crash or a lost response the operator asks GitLab whether
	// the action happened instead of calling twice.
	// +optional
	IntentTime *metav1.Time `json:"intentTime,omitempty"`

	// actionTime is when GitLab accepted the action (or when the operator found that it had).
	// +optional
	ActionTime *metav1.Time `json:"actionTime,omitempty"`

	// completionTime is when the JobAction completed or failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// JobAction is one action (Retry, Play, Cancel, Erase) on one GitLab job. Like a
// batch Job, it runs once.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ja,categories=gitlab
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.spec.action`
// +kubebuilder:printcolumn:name="Job",type=integer,JSONPath=`.status.targetJob.id`
// +kubebuilder:printcolumn:name="Result",type=integer,JSONPath=`.status.resultJob.id`
// +kubebuilder:printcolumn:name="Job Status",type=string,JSONPath=`.status.resultJob.status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.status=="True")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.status=="True")].message`
type JobAction struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the action to take; immutable.
	// +required
	Spec JobActionSpec `json:"spec"`

	// status is what happened.
	// +optional
	Status JobActionStatus `json:"status,omitempty"`
}

// JobActionList is a list of JobActions.
// +kubebuilder:object:root=true
type JobActionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []JobAction `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &JobAction{}, &JobActionList{})
}
