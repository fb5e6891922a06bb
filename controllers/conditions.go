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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// reporter sets an object's conditions and queues the event that goes with
// each transition, in one call, so a condition and its event never disagree.
// The events are emitted by emit, after the status that shows them has been
// written: a pass whose status write fails is done again, and must not have
// announced anything yet.
type reporter struct {
	obj        client.Object
	conditions *[]metav1.Condition
	events     []queuedEvent
}

type queuedEvent struct {
	eventType, reason, action, note string
	related                         *corev1.ObjectReference
}

func newReporter(obj client.Object, conditions *[]metav1.Condition) *reporter {
	return &reporter{obj: obj, conditions: conditions}
}

// set sets condition t and says whether that is a transition: a new status or
// reason. lastTransitionTime moves only when the status changes
// (meta.SetStatusCondition), so setting the same state again is a no-op the
// status patch does not even send.
func (r *reporter) set(t string, status metav1.ConditionStatus, reason, message string) bool {
	before := meta.FindStatusCondition(*r.conditions, t)
	transition := before == nil || before.Status != status || before.Reason != reason
	meta.SetStatusCondition(r.conditions, metav1.Condition{
		Type:               t,
		Status:             status,
		ObservedGeneration: r.obj.GetGeneration(),
		Reason:             reason,
		Message:            truncate(message, 1024),
	})
	return transition
}

// announce sets condition t and, on a transition, queues an event of
// eventType with the condition's reason and message.
func (r *reporter) announce(t string, status metav1.ConditionStatus, reason, message, eventType, action string) {
	if r.set(t, status, reason, message) {
		r.event(eventType, reason, action, message, nil)
	}
}

// remove drops condition t: abnormal-true conditions such as Stalled are
// written only while they are True (kstatus).
func (r *reporter) remove(t string) {
	meta.RemoveStatusCondition(r.conditions, t)
}

// event queues one event. related, when set, names what the event is about
// besides the object (a GitLab job); events that differ in it are kept apart
// instead of being folded into one series.
func (r *reporter) event(eventType, reason, action, note string, related *corev1.ObjectReference) {
	r.events = append(r.events, queuedEvent{eventType: eventType, reason: reason, action: action, note: truncate(note, 1024), related: related})
}

// emit records the queued events and forgets them.
func (r *reporter) emit(rec recorder.EventRecorder) {
	for _, e := range r.events {
		var related runtime.Object // a nil *ObjectReference would not be a nil interface
		if e.related != nil {
			related = e.related
		}
		rec.Eventf(r.obj, related, e.eventType, e.reason, e.action, "%s", e.note)
	}
	r.events = nil
}

// isTrue reports whether the condition of type t is True.
func isTrue(conditions []metav1.Condition, t string) bool {
	return meta.IsStatusConditionTrue(conditions, t)
}

// truncate bounds a message: status stays small whatever GitLab answered.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
