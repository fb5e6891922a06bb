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
	"k8s.io/apimachinery/pkg/types"
)

// JobActionRecordSpec is what a JobAction claimed, kept apart from the JobAction so
// that it outlives it.
type JobActionRecordSpec struct {
	// jobActionName is the name of the JobAction (in the same namespace) that claimed
	// the action.
	// +required
	// +kubebuilder:validation:MaxLength=253
	JobActionName string `json:"jobActionName"`

	// identity is a digest of the JobAction's name and of the spec fields that say what
	// to do (every field but ttlSecondsAfterFinished and followResult). A JobAction
	// with the same identity is the same request.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Identity string `json:"identity"`

	// action is the JobAction's action.
	// +required
	Action ActionType `json:"action"`

	// project is the JobAction's project, as written in its spec.
	// +required
	// +kubebuilder:validation:MaxLength=255
	Project string `json:"project"`

	// target is the job the action applies to, as it was when the action was first
	// claimed. A JobAction that comes back with the same identity acts on this job,
	// not on whatever its spec would resolve to now (the newest attempt of a name
	// moves when the first action makes a new one).
	// +required
	Target JobSummary `json:"target"`

	// claim is who last claimed the one mutating call, and when.
	// +required
	Claim ActionClaim `json:"claim"`
}

// ActionClaim is one claim on the mutating call of an action: written, under an
// optimistic lock, before the call is made, so that no two passes (a stale cache, a
// restarted or second manager) call at once.
type ActionClaim struct {
	// jobActionUID is the JobAction (this incarnation of the name) that claimed the call.
	// +required
	JobActionUID types.UID `json:"jobActionUID"`

	// claimant identifies the manager process that claimed the call.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Claimant string `json:"claimant"`

	// time is when the call was claimed. Until the call's timeout has passed since
	// then, another process does not ask GitLab whether it happened: the call may
	// still be in flight.
	// +required
	Time metav1.MicroTime `json:"time"`
}

// JobActionRecordStatus is the record's housekeeping.
type JobActionRecordStatus struct {
	// releasedAt is when the operator first found no JobAction of this identity. The
	// record is deleted the manager's --jobaction-record-retention after that, unless
	// the JobAction comes back first.
	// +optional
	ReleasedAt *metav1.Time `json:"releasedAt,omitempty"`
}

// JobActionRecord remembers that a JobAction claimed its action, for a while after
// the JobAction is gone, so that the same manifest applied again (by a GitOps tool
// after ttlSecondsAfterFinished, from a restored backup, by a person re-applying a
// file) finds the action done instead of doing it twice. The operator writes and
// deletes records; deleting one by hand lets an identical JobAction act again.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=jar
// +kubebuilder:printcolumn:name="JobAction",type=string,JSONPath=`.spec.jobActionName`
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.spec.action`
// +kubebuilder:printcolumn:name="Job",type=integer,JSONPath=`.spec.target.id`
// +kubebuilder:printcolumn:name="Claimed",type=date,JSONPath=`.spec.claim.time`
// +kubebuilder:printcolumn:name="Released",type=date,JSONPath=`.status.releasedAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type JobActionRecord struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what was claimed.
	// +required
	Spec JobActionRecordSpec `json:"spec"`

	// status is the record's housekeeping.
	// +optional
	Status JobActionRecordStatus `json:"status,omitempty"`
}

// JobActionRecordList is a list of JobActionRecords.
// +kubebuilder:object:root=true
type JobActionRecordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []JobActionRecord `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &JobActionRecord{}, &JobActionRecordList{})
}
