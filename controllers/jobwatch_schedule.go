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
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// This file is when a JobWatch syncs: the next sync's time, and the
// per-interval budget of actions (maxActionsPerSync).

// untilDue is how long until the next sync is due: 0 for a new generation, a
// watch whose last sync failed or never ran, or a sync request.
func untilDue(jw *civ1alpha1.JobWatch, now time.Time) time.Duration {
	next := jw.Status.NextSyncTime
	ready := meta.FindStatusCondition(jw.Status.Conditions, civ1alpha1.ConditionReady)
	if next == nil || ready == nil || ready.ObservedGeneration != jw.Generation || ready.Status != metav1.ConditionTrue {
		return 0
	}
	if syncRequested(jw) {
		return 0
	}
	return min(next.Sub(now), interval(jw))
}

// syncRequested says someone asked for a sync with the request annotation.
func syncRequested(jw *civ1alpha1.JobWatch) bool {
	req := requestOf(jw)
	return req != "" && req != jw.Status.LastHandledRequest
}

// openWindow returns the watch's action window for a sync at now, starting a
// new one when the interval of the current one has passed, and how many
// actions the sync may still take in it.
func openWindow(jw *civ1alpha1.JobWatch, now time.Time) (*civ1alpha1.ActionWindow, int) {
	w := jw.Status.ActionWindow
	if w == nil || !now.Before(w.Start.Add(interval(jw))) || now.Before(w.Start.Time) {
		w = &civ1alpha1.ActionWindow{Start: metav1.NewTime(now)}
		jw.Status.ActionWindow = w
	}
	return w, max(0, int(jw.Spec.MaxActionsPerSync-w.Actions))
}

// nextSyncAfter is how long after now to sync next. When the guard held jobs
// back, it is when the action window ends: the next interval takes them, and
// no earlier sync (a backoff ending) could act on them. Otherwise it is the
// watch's next slot on its grid (policy.NextSyncAt), or sooner when a job's
// backoff or age threshold ends (revisit, zero if none).
func nextSyncAfter(jw *civ1alpha1.JobWatch, now, revisit time.Time, heldBack bool) time.Duration {
	if w := jw.Status.ActionWindow; heldBack && w != nil {
		return max(w.Start.Add(interval(jw)).Sub(now), time.Second)
	}
	next := policy.NextSyncAt(now, interval(jw), jw.Namespace+"/"+jw.Name).Sub(now)
	if !revisit.IsZero() {
		next = min(next, max(revisit.Sub(now), time.Second))
	}
	return next
}
