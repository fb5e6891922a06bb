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
	"fmt"
	"testing"
	"time"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// The guard (maxActionsPerSync) holds per interval: however often the watch
// syncs inside an interval (a backoff ending, a sync request), the jobs it
// holds back wait for the next interval.
func TestGuardHoldsPerInterval(t *testing.T) {
	w := newUnitWorld(t, nil)
	var specs []gitlabsim.JobSpec
	for i := range 12 {
		specs = append(specs, gitlabsim.JobSpec{Name: fmt.Sprintf("shard-%d", i), Status: "failed", FailureReason: "runner_system_failure"})
	}
	p, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Ref: "main", Jobs: specs})
	if err != nil {
		t.Fatal(err)
	}
	const interval = 60 * time.Second
	key := w.createWatch("guard", civ1alpha1.JobWatchSpec{IntervalSeconds: 60, MaxActionsPerSync: 5, Rules: []civ1alpha1.WatchRule{
		{Name: "infra", Action: civ1alpha1.ActionRetry, Match: civ1alpha1.RuleMatch{FailureReasons: []string{"runner_system_failure"}},
			Retry: &civ1alpha1.RetryPolicy{MaxRetries: 1}}}})
	r := w.watchReconciler("unit")
	start := w.clock.Now()

	res := w.reconcile(r, key)
	if got := w.retries(p.Jobs); got != 5 {
		t.Fatalf("first sync retried %d jobs, want 5", got)
	}
	// (Status times have a precision of one second.)
	if res.RequeueAfter < interval-time.Second {
		t.Fatalf("after holding jobs back the watch comes back in %s, want about the interval %s", res.RequeueAfter, interval)
	}

	// Inside the interval: a spurious pass, then a sync request.
	w.clock.SetTime(start.Add(2 * time.Second))
	w.reconcile(r, key)
	w.requestSync(key, "1")
	w.clock.SetTime(start.Add(30 * time.Second))
	res = w.reconcile(r, key)
	if got := w.retries(p.Jobs); got != 5 {
		t.Fatalf("syncs inside the interval retried %d jobs in all, want still 5", got)
	}
	if want := start.Add(interval - time.Second).Sub(w.clock.Now()); res.RequeueAfter < want {
		t.Fatalf("a sync inside a spent interval comes back in %s, want at least %s (the interval's end)", res.RequeueAfter, want)
	}
	if jw := w.watch(key); jw.Status.ActionWindow.Actions != 5 || !jw.Status.ActionWindow.Start.Time.Equal(start.Truncate(time.Second)) {
		t.Fatalf("action window = %+v, want 5 actions since %s", jw.Status.ActionWindow, start)
	}

	// The workqueue brings the watch back when it asked: the next interval
	// takes the next five, and the one after it the last two.
	for _, want := range []int64{10, 12} {
		w.clock.SetTime(w.clock.Now().Add(res.RequeueAfter))
		res = w.reconcile(r, key)
		if got := w.retries(p.Jobs); got != want {
			t.Fatalf("at %s, %d jobs retried, want %d", w.clock.Now().Sub(start), got, want)
		}
	}
	if res.RequeueAfter < interval/2 {
		t.Fatalf("with nothing held back the watch comes back in %s, want its next slot, at least half an interval away", res.RequeueAfter)
	}
	for _, j := range p.Jobs {
		if n := w.sim.Stats().Actions[j.ID].Retry; n != 1 {
			t.Fatalf("job %d retried %d times, want once", j.ID, n)
		}
	}
}
