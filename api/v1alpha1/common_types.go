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

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ConnectionReference names a GitLabConnection in the same namespace.
type ConnectionReference struct {
	// name of the GitLabConnection, in the same namespace as the referring object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="the connection name must be a valid object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`
}

// TokenSecretReference names a key of a Secret, in the same namespace, that holds a token.
type TokenSecretReference struct {
	// name of the Secret, in the same namespace as the referring object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="the Secret name must be a valid object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// key of the Secret's data that holds the token.
	// +optional
	// +kubebuilder:default=token
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// CABundleSecretReference names a key of a Secret, in the same namespace, that holds PEM certificates.
type CABundleSecretReference struct {
	// name of the Secret, in the same namespace as the GitLabConnection.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="the Secret name must be a valid object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// key of the Secret's data that holds one or more PEM-encoded CA certificates.
	// +optional
	// +kubebuilder:default=ca.crt
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// SecretKeySelector selects a key of a Secret in the same namespace.
type SecretKeySelector struct {
	// name of the Secret, in the same namespace as the referring object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="the Secret name must be a valid object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// key of the Secret's data to use.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// ActionType is what to do to a GitLab job.
// +kubebuilder:validation:Enum=Retry;Play;Cancel;Erase
type ActionType string

const (
	// ActionRetry retries a finished job: GitLab creates a new job (a new id) with the same name.
	ActionRetry ActionType = "Retry"
	// ActionPlay starts a manual job, optionally with variables.
	ActionPlay ActionType = "Play"
	// ActionCancel cancels a job that has not finished.
	ActionCancel ActionType = "Cancel"
	// ActionErase erases a finished job's log and artifacts.
	ActionErase ActionType = "Erase"
)

// JobStatus is a GitLab job status.
// +kubebuilder:validation:Enum=created;waiting_for_resource;preparing;waiting_for_callback;pending;running;success;failed;canceling;canceled;skipped;manual;scheduled
type JobStatus string

// PlayVariable is one CI/CD variable passed to a manual job when it is played.
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.valueFrom)",message="set exactly one of value or valueFrom"
type PlayVariable struct {
	// key is the variable's name: letters, digits and underscores, as GitLab requires.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_]+$`
	Key string `json:"key"`

	// value is the variable's literal value. It is sent to GitLab and never copied
	// into status, events or logs; use valueFrom for anything secret.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10000
	Value string `json:"value,omitempty"`

	// valueFrom takes the value from a key of a Secret in the same namespace.
	// +optional
	ValueFrom *VariableSource `json:"valueFrom,omitempty"`
}

// VariableSource says where a variable's value comes from.
type VariableSource struct {
	// secretKeyRef selects a key of a Secret in the same namespace.
	// +required
	SecretKeyRef SecretKeySelector `json:"secretKeyRef"`
}

// JobSummary is what the operator last saw of a GitLab job.
type JobSummary struct {
	// id is the GitLab job id.
	// +required
	ID int64 `json:"id"`

	// name is the job's name in .gitlab-ci.yml.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`

	// stage is the job's stage.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Stage string `json:"stage,omitempty"`

	// ref is the branch or tag the job ran for.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Ref string `json:"ref,omitempty"`

	// status is the job's GitLab status (pending, running, success, failed, ...).
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Status string `json:"status,omitempty"`

	// failureReason is GitLab's failure_reason, set only when status is failed.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	FailureReason string `json:"failureReason,omitempty"`

	// pipelineID is the id of the job's pipeline.
	// +optional
	PipelineID int64 `json:"pipelineID,omitempty"`

	// webURL is the job's page in GitLab.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	WebURL string `json:"webURL,omitempty"`

	// bridge is true when the job is a trigger job (a bridge to a downstream pipeline).
	// +optional
	Bridge bool `json:"bridge,omitempty"`

	// startedAt is when the job started running.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// finishedAt is when the job finished.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
}
