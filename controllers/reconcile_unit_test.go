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
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// The status patch is what exactly-once stands on: a pass that started from
// a stale copy must never overwrite newer status (it could erase a recorded
// claim), while a conflict caused only by metadata (an annotation, a label)
// must not cost the pass its work.
func TestStatusPatcherConflicts(t *testing.T) {
	cases := []struct {
		name string
		// meanwhile changes the stored watch between the pass's read and
		// its patch, as another writer would.
		meanwhile func(jw *civ1alpha1.JobWatch)
		wantErr   bool
	}{
		{name: "no conflict", meanwhile: nil},
		{name: "a label changed meanwhile: the patch is sent again on the stored version",
			meanwhile: func(jw *civ1alpha1.JobWatch) { jw.Labels = map[string]string{"team": "platform"} }},
		{name: "an annotation changed meanwhile",
			meanwhile: func(jw *civ1alpha1.JobWatch) {
				jw.Annotations = map[string]string{civ1alpha1.SyncRequestAnnotation: "2"}
			}},
		{name: "the status changed meanwhile: the conflict is returned, nothing is overwritten",
			meanwhile: func(jw *civ1alpha1.JobWatch) { jw.Status.TotalActions = 7 }, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newUnitWorld(t, nil)
			key := w.createWatch("w", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{{Name: "r", Action: civ1alpha1.ActionRetry}}})
			jw := w.watch(key)
			patcher := newStatusPatcher(w.client, w.client, jw, jobWatchStatus)
			if tc.meanwhile != nil {
				other := w.watch(key)
				tc.meanwhile(other)
				if err := w.client.Update(w.ctx, other); err != nil {
					t.Fatal(err)
				}
				tc.meanwhile(other) // Update answered with the stored status
				if err := w.client.Status().Update(w.ctx, other); err != nil {
					t.Fatal(err)
				}
			}
			jw.Status.PendingActions = []civ1alpha1.PendingAction{{Rule: "r", Action: civ1alpha1.ActionRetry, JobID: 12}}
			err := patcher.patch(w.ctx, jw)
			stored := w.watch(key)
			if tc.wantErr {
				if !apierrors.IsConflict(err) {
					t.Fatalf("patch = %v, want a conflict", err)
				}
				if len(stored.Status.PendingActions) != 0 || stored.Status.TotalActions != 7 {
					t.Fatalf("stored status = %+v, want the other writer's, untouched", stored.Status)
				}
				return
			}
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			if len(stored.Status.PendingActions) != 1 {
				t.Fatalf("stored pending actions = %+v, want the one patched", stored.Status.PendingActions)
			}
			if tc.meanwhile != nil && stored.Labels["team"] == "" && stored.Annotations[civ1alpha1.SyncRequestAnnotation] == "" {
				t.Fatal("the metadata written meanwhile was lost")
			}
			// Nothing new to send: no request at all.
			calls := 0
			counting := newUnitWorld(t, &interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				calls++
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			}})
			ckey := counting.createWatch("w", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{{Name: "r", Action: civ1alpha1.ActionRetry}}})
			cjw := counting.watch(ckey)
			if err := newStatusPatcher(counting.client, counting.client, cjw, jobWatchStatus).patch(counting.ctx, cjw); err != nil || calls != 0 {
				t.Fatalf("an unchanged status sent %d patches (err %v), want none", calls, err)
			}
		})
	}
}

// Every class of GitLab error becomes one reason and one kind, and the kind
// decides what controller-runtime does next.
func TestGitLabFailureMapping(t *testing.T) {
	cases := []struct {
		class      gitlab.Class
		retryAfter time.Duration
		reason     string
		kind       errorKind
	}{
		{gitlab.Unauthorized, 0, civ1alpha1.ReasonUnauthorized, stalledKind},
		{gitlab.Forbidden, 0, civ1alpha1.ReasonForbidden, stalledKind},
		{gitlab.ProjectNotFound, 0, civ1alpha1.ReasonProjectNotFound, stalledKind},
		{gitlab.NotFound, 0, civ1alpha1.ReasonJobNotFound, stalledKind},
		{gitlab.JobNotFoundForToken, 0, civ1alpha1.ReasonJobNotFound, stalledKind},
		{gitlab.NotRetryable, 0, civ1alpha1.ReasonNotRetryable, stalledKind},
		{gitlab.Unplayable, 0, civ1alpha1.ReasonUnplayable, stalledKind},
		{gitlab.NotErasable, 0, civ1alpha1.ReasonNotErasable, stalledKind},
		{gitlab.BadRequest, 0, civ1alpha1.ReasonBadRequest, stalledKind},
		{gitlab.InvalidConfig, 0, civ1alpha1.ReasonBadRequest, stalledKind},
		{gitlab.Unreachable, 0, civ1alpha1.ReasonUnreachable, transientKind},
		{gitlab.TLSError, 0, civ1alpha1.ReasonTLSError, transientKind},
		{gitlab.RateLimited, 42 * time.Second, civ1alpha1.ReasonGitLabUnavailable, waitingKind},
		{gitlab.Transient, 0, civ1alpha1.ReasonGitLabUnavailable, transientKind},
		{gitlab.Transient, 3 * time.Second, civ1alpha1.ReasonGitLabUnavailable, waitingKind},
	}
	for _, tc := range cases {
		t.Run(string(tc.class), func(t *testing.T) {
			err := &gitlab.Error{Class: tc.class, StatusCode: 400, Message: "the answer", RetryAfter: tc.retryAfter}
			re := gitlabFailure(err, "job 12 of group/app")
			if re.Reason != tc.reason || re.kind != tc.kind {
				t.Fatalf("gitlabFailure(%s) = %s/%d, want %s/%d", tc.class, re.Reason, re.kind, tc.reason, tc.kind)
			}
			if re.Message == "" || !errors.Is(re, err) {
				t.Fatalf("message %q, cause kept: %v", re.Message, errors.Is(re, err))
			}
			if tc.kind == waitingKind && re.RequeueAfter != tc.retryAfter {
				t.Fatalf("requeue after %s, want GitLab's %s", re.RequeueAfter, tc.retryAfter)
			}
		})
	}
}

func TestResultOfEachKind(t *testing.T) {
	ok := ctrl.Result{RequeueAfter: time.Minute}
	apiErr := apierrors.NewServiceUnavailable("etcd is away")
	cases := []struct {
		name    string
		err     error
		recheck time.Duration
		want    ctrl.Result
		wantErr bool
		reason  string
	}{
		{name: "no error keeps the pass's own result", want: ok},
		{name: "transient: returned for the workqueue's backoff", err: gitlabFailure(&gitlab.Error{Class: gitlab.Transient}, "x"), wantErr: true},
		{name: "waiting for an object: no requeue, its watch brings it back", err: waitingFor(civ1alpha1.ReasonSecretNotFound, "no Secret")},
		{name: "waiting for a moment: requeued then", err: waitingUntil(7*time.Second, civ1alpha1.ReasonActionPending, "in flight"),
			want: ctrl.Result{RequeueAfter: 7 * time.Second}},
		{name: "stalled: looked at again after the recheck interval", err: stalled(civ1alpha1.ReasonForbidden, "no"), recheck: time.Hour,
			want: ctrl.Result{RequeueAfter: time.Hour}},
		{name: "an API server error is transient, with its own reason", err: apiErr, wantErr: true, reason: civ1alpha1.ReasonAPIServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := result(ok, tc.err, tc.recheck)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && tc.err == nil && got != ok {
				t.Fatalf("result = %+v, want %+v", got, ok)
			}
			if tc.err != nil && !tc.wantErr && got != tc.want {
				t.Fatalf("result = %+v, want %+v", got, tc.want)
			}
			if tc.reason != "" && asReconcileError(err).Reason != tc.reason {
				t.Fatalf("reason = %s, want %s", asReconcileError(err).Reason, tc.reason)
			}
		})
	}
}

// A sync is due at once on a request or for a changed spec; at this
// process's own schedule when it has one; otherwise at the time status says,
// unless that has passed or the watch never synced: then at once if few
// watches start together, else at its first slot, within a minute (spread by
// its name); never later than an interval.
func TestDueAt(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ready := func(gen int64, status metav1.ConditionStatus) []metav1.Condition {
		return []metav1.Condition{{Type: civ1alpha1.ConditionReady, Status: status, ObservedGeneration: gen, Reason: "x"}}
	}
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	synced := at(-time.Hour)
	const spread = -1 // want: within the first minute, scheduled
	cases := []struct {
		name      string
		jw        civ1alpha1.JobWatch
		memory    time.Duration // this process's schedule, from now; 0: none
		want      time.Duration
		scheduled bool
		startNow  bool // whether a first sync may start at once
	}{
		{"never synced, among many", civ1alpha1.JobWatch{}, 0, spread, true, false},
		{"never synced, alone", civ1alpha1.JobWatch{}, 0, 0, false, true},
		{"due in 30s", civ1alpha1.JobWatch{Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(30 * time.Second)}}, 0, 30 * time.Second, true, false},
		{"overdue when the manager starts", civ1alpha1.JobWatch{Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(-time.Second)}}, 0, spread, true, false},
		{"overdue on this process's schedule", civ1alpha1.JobWatch{Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(time.Minute)}}, -2 * time.Second, -2 * time.Second, true, false},
		{"this process's schedule first", civ1alpha1.JobWatch{Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(-time.Minute)}}, 20 * time.Second, 20 * time.Second, true, false},
		{"a new generation", civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(time.Minute)}}, 0, 0, false, false},
		{"the last sync failed before a restart", civ1alpha1.JobWatch{Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionFalse), LastSyncTime: synced, NextSyncTime: at(time.Minute)}}, 0, spread, true, false},
		{"a sync request", civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{civ1alpha1.SyncRequestAnnotation: "5"}},
			Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(time.Minute), LastHandledRequest: "4"}}, time.Minute, 0, false, false},
		{"a request already answered", civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{civ1alpha1.SyncRequestAnnotation: "5"}},
			Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(time.Minute), LastHandledRequest: "5"}}, 0, time.Minute, true, false},
		{"a next time beyond the interval (the interval shrank)", civ1alpha1.JobWatch{Spec: civ1alpha1.JobWatchSpec{IntervalSeconds: 10},
			Status: civ1alpha1.JobWatchStatus{Conditions: ready(1, metav1.ConditionTrue), LastSyncTime: synced, NextSyncTime: at(time.Hour)}}, 0, 10 * time.Second, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			jw := tc.jw
			jw.Namespace, jw.Name = "ns", "w"
			if jw.Generation == 0 {
				jw.Generation = 1
			}
			if jw.Spec.IntervalSeconds == 0 {
				jw.Spec.IntervalSeconds = 3600
			}
			mem := newWatchMemory()
			if tc.memory != 0 {
				mem.nextSync = now.Add(tc.memory)
			}
			due, scheduled := dueAt(&jw, mem, now, func() bool { return tc.startNow })
			got := due.Sub(now)
			if scheduled != tc.scheduled {
				t.Errorf("scheduled = %t, want %t", scheduled, tc.scheduled)
			}
			if tc.want == spread {
				if got < 0 || got >= time.Minute {
					t.Fatalf("due in %s, want within the first minute", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("due in %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNextSyncAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	jw := &civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "w"}, Spec: civ1alpha1.JobWatchSpec{IntervalSeconds: 60}}
	plain := nextSyncAfter(jw, now, time.Time{}, false)
	if plain < 30*time.Second || plain >= 90*time.Second {
		t.Fatalf("next sync in %s, want the watch's next slot, between half an interval and one and a half", plain)
	}
	if got := nextSyncAfter(jw, now, now.Add(5*time.Second), false); got != 5*time.Second {
		t.Fatalf("with a backoff ending in 5s, next sync in %s, want 5s", got)
	}
	if got := nextSyncAfter(jw, now, now.Add(-time.Minute), false); got != time.Second {
		t.Fatalf("with a backoff already over, next sync in %s, want 1s (never a hot loop)", got)
	}
	jw.Status.ActionWindow = &civ1alpha1.ActionWindow{Start: metav1.NewTime(now.Add(-20 * time.Second)), Actions: 5}
	if got := nextSyncAfter(jw, now, now.Add(5*time.Second), true); got != 40*time.Second {
		t.Fatalf("with jobs held back, next sync in %s, want the window's end (40s), not the backoff's", got)
	}
}
