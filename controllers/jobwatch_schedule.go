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
//
// The schedule lives in memory (watchMemory.nextSync): a sync that finds
// nothing new writes no status (see quietSync), so status.nextSyncTime is
// only where a restarted manager picks the schedule up.

const (
	// maxStartSpread bounds how long a new watch, or one found overdue when
	// the manager starts, waits for its first sync (policy.FirstSyncDelay).
	maxStartSpread = time.Minute
	// startsPerSecond and startBurst are how many such first syncs start at
	// once: a watch applied by hand syncs at once; a thousand applied
	// together, or found by a manager that starts, take their slots.
	startsPerSecond = 10
	startBurst      = 10
	// statusRefresh is how often a watch whose syncs find nothing new still
	// writes status, so lastSyncTime says it is alive.
	statusRefresh = 10 * time.Minute
)

// dueAt is when the watch's next sync is due, and whether that time was
// scheduled (rather than now, for a request or a changed spec): the sync
// lag is measured against scheduled times.
//
// This process's own schedule comes first. Without one (a new watch, a new
// generation, a manager that just started), a sync request or a changed
// spec is due at once; a time in status not yet reached is kept; and a new
// watch, or one whose time passed while no manager ran, syncs at once if
// startNow allows, otherwise at its first slot, spread by
// policy.FirstSyncDelay, so that a thousand of them do not all sync in the
// same second.
func dueAt(jw *civ1alpha1.JobWatch, mem *watchMemory, now time.Time, startNow func() bool) (at time.Time, scheduled bool) {
	if syncRequested(jw) {
		return now, false
	}
	if !mem.nextSync.IsZero() {
		return mem.nextSync, true
	}
	ready := meta.FindStatusCondition(jw.Status.Conditions, civ1alpha1.ConditionReady)
	if ready != nil && ready.ObservedGeneration != jw.Generation && jw.Status.LastSyncTime != nil {
		return now, false
	}
	if next := jw.Status.NextSyncTime; next != nil && next.After(now) && ready != nil && ready.Status == metav1.ConditionTrue {
		return minTime(next.Time, now.Add(interval(jw))), true
	}
	if startNow() {
		return now, false
	}
	return firstSlot(jw, now), true
}

// firstSlot is a new or overdue watch's first sync: its first slot on the
// grid, when that is within maxStartSpread, so that its syncs are on the
// grid from the first; otherwise (a long interval) a delay spread the same
// way over maxStartSpread. Either way the first syncs of many watches fall
// evenly over the span; taking the sooner of the two would not (the watches
// whose slot has just passed would crowd the start of the span).
func firstSlot(jw *civ1alpha1.JobWatch, now time.Time) time.Time {
	key := jw.Namespace + "/" + jw.Name
	if interval(jw) <= maxStartSpread {
		return policy.NextSyncAt(now.Add(-interval(jw)/2), interval(jw), key)
	}
	return now.Add(policy.FirstSyncDelay(interval(jw), maxStartSpread, key))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// syncRequested says someone asked for a sync with the request annotation.
func syncRequested(jw *civ1alpha1.JobWatch) bool {
	req := requestOf(jw)
	return req != "" && req != jw.Status.LastHandledRequest
}

// openWindow returns the watch's action window for a sync at now, a new one
// when the interval of the current one has passed, and how many actions the
// sync may still take in it. A new window goes into status with the first
// action taken in it (spend): a sync that takes none changes nothing.
func openWindow(jw *civ1alpha1.JobWatch, now time.Time) (*civ1alpha1.ActionWindow, int) {
	w := jw.Status.ActionWindow
	if w == nil || !now.Before(w.Start.Add(interval(jw))) || now.Before(w.Start.Time) {
		w = &civ1alpha1.ActionWindow{Start: metav1.NewTime(now)}
	} else {
		w = w.DeepCopy()
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
