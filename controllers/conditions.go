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

package controllers

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// findCondition returns the condition of type t, or nil.
func findCondition(conditions []metav1.Condition, t string) *metav1.Condition {
	return meta.FindStatusCondition(conditions, t)
}

// isTrue reports whether the condition of type t is True.
func isTrue(conditions []metav1.Condition, t string) bool {
	return meta.IsStatusConditionTrue(conditions, t)
}

// setCondition sets one condition. lastTransitionTime moves only when the status
// changes (meta.SetStatusCondition), so re-setting the same state is a no-op a
// status patch does not even send.
func setCondition(conditions *[]metav1.Condition, generation int64, t string, status metav1.ConditionStatus, reason, message string) bool {
	return meta.SetStatusCondition(conditions, metav1.Condition{
		Type:               t,
		Status:             status,
		ObservedGeneration: generation,
		Reason:             reason,
		Message:            truncate(message, 1024),
	})
}

// truncate bounds a message: status stays small whatever GitLab answered.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
