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

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

const day = 24 * time.Hour

// history is a project's past, as the test made it: every pipeline's id.
type history struct {
	pipelines []int64
}

// fillHistory gives the world's project n pipelines of perPipeline jobs, one
// every span/n, ending now: all success but two failed jobs with a log each.
func fillHistory(t *testing.T, w *unitWorld, n, perPipeline int, span time.Duration) *history {
	t.Helper()
	h := &history{}
	start := time.Now().Add(-span)
	for i := range n {
		created := start.Add(time.Duration(i) * span / time.Duration(n))
		jobs := make([]gitlabsim.JobSpec, perPipeline)
		for j := range jobs {
			jobs[j] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%02d", j), Status: gitlabsim.StatusSuccess}
			if j < 2 {
				jobs[j].Status, jobs[j].FailureReason, jobs[j].Trace = gitlabsim.StatusFailed, gitlabsim.ReasonScriptFailure, "boom"
			}
		}
		h.add(t, w, gitlabsim.PipelineSpec{ProjectID: w.project.ID, CreatedAt: &created, Jobs: jobs})
	}
	return h
}

func (h *history) add(t *testing.T, w *unitWorld, spec gitlabsim.PipelineSpec) {
	t.Helper()
	p, err := w.sim.CreatePipeline(spec)
	if err != nil {
		t.Fatal(err)
	}
	h.pipelines = append(h.pipelines, p.ID)
}

// checkErasedOnce fails unless every failed job that finished at least age
// before now was erased exactly once, and no other job at all.
func (h *history) checkErasedOnce(t *testing.T, w *unitWorld, age time.Duration) (erased int) {
	t.Helper()
	st := w.sim.Stats()
	now := w.clock.Now()
	for _, id := range h.pipelines {
		jobs, err := w.sim.PipelineJobs(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			want := int64(0)
			if j.Status == gitlabsim.StatusFailed && !j.FinishedAt.Add(age).After(now) {
				want = 1
			}
			if got := st.Actions[j.ID].Erase; got != want {
				t.Fatalf("job %d (%s, finished %s before now) erased %d times, want %d",
					j.ID, j.Status, now.Sub(*j.FinishedAt).Round(time.Hour), got, want)
			}
			erased += int(want)
		}
	}
	return erased
}

// syncUntilCaughtUp runs the watch's syncs when it asks to come back, until
// every history walk has caught up; it returns how many syncs that took, over
// how long, and the most GitLab requests one of them made.
func syncUntilCaughtUp(t *testing.T, w *unitWorld, r *JobWatchReconciler, key types.NamespacedName, limit int) (syncs int, took time.Duration, most int64) {
	t.Helper()
	start := w.clock.Now()
	for syncs < limit {
		before := w.sim.Stats().TotalRequests
		res := w.reconcile(r, key)
		if n := w.sim.Stats().TotalRequests - before; n > 0 {
			syncs++
			most = max(most, n)
		}
		if caughtUp(w.watch(key)) {
			return syncs, w.clock.Now().Sub(start), most
		}
		w.clock.SetTime(w.clock.Now().Add(max(res.RequeueAfter, time.Second)))
	}
	t.Fatalf("the history walks had not caught up after %d syncs: %+v", limit, w.watch(key).Status.History)
	return 0, 0, 0
}

func caughtUp(jw *civ1alpha1.JobWatch) bool {
	if len(jw.Status.History) == 0 {
		return false
	}
	for _, h := range jw.Status.History {
		if !h.CaughtUp {
			return false
		}
	}
	return true
}

// A new watch on a project with 20,000 jobs over 60 days erases every failed
// job's log older than 30 days exactly once, a bounded number of requests a
// sync, within the number of syncs its budgets predict; then it costs one
// request a sync; and the jobs that come of age later, a long job that
// finished late among them, are erased when they do.
func TestHistoryWalkErasesEveryOldJobOnceThenCostsOneRequest(t *testing.T) {
	w := newUnitWorld(t, nil)
	w.unlimitedConnection()
	w.events = events.NewFakeRecorder(10000) // an event per erasure
	const pipelines, perPipeline, maxActions = 1000, 20, 50
	h := fillHistory(t, w, pipelines, perPipeline, 60*day)
	created, finished := time.Now().Add(-40*day), time.Now().Add(-20*day)
	h.add(t, w, gitlabsim.PipelineSpec{ProjectID: w.project.ID, CreatedAt: &created, Jobs: []gitlabsim.JobSpec{
		{Name: "soak-test", Status: gitlabsim.StatusFailed, Trace: "slow", CreatedAt: &created, StartedAt: &created, FinishedAt: &finished}}})
	h.add(t, w, gitlabsim.PipelineSpec{ProjectID: w.project.ID, CreatedAt: &created, Source: "parent_pipeline",
		Jobs: []gitlabsim.JobSpec{{Name: "child", Status: gitlabsim.StatusFailed, Trace: "child log"}}})
	key := w.createWatch("retention", civ1alpha1.JobWatchSpec{IntervalSeconds: 60, MaxActionsPerSync: maxActions,
		Rules: []civ1alpha1.WatchRule{{Name: "failed-logs", Action: civ1alpha1.ActionErase,
			Match: civ1alpha1.RuleMatch{Statuses: []civ1alpha1.JobStatus{"failed"}, MinAgeSeconds: int64(30 * day / time.Second)}}}})
	r := w.watchReconciler("unit")

	// Half the pipelines are older than 30 days: the walk reads them
	// historyRequestsPerSync at a time (one of which lists the next page) and
	// erases their 1,000 failed jobs, maxActionsPerSync an interval.
	const interval = time.Minute
	oldPipelines, oldFailed := pipelines/2+1, pipelines+1
	predicted := max(ceilDiv(oldPipelines, historyRequestsPerSync-2), ceilDiv(oldFailed, maxActions)) + 2
	syncs, took, most := syncUntilCaughtUp(t, w, r, key, 3*predicted)
	erased := h.checkErasedOnce(t, w, 30*day)
	t.Logf("caught up with %d erasures in %d syncs over %s (predicted at most %d intervals), at most %d requests a sync",
		erased, syncs, took, predicted, most)
	if took > time.Duration(predicted)*interval {
		t.Errorf("caught up after %s, want at most %d intervals", took, predicted)
	}
	if bound := int64(1 + historyRequestsPerSync + 1 + maxActions); most > bound {
		t.Errorf("a sync made %d requests, want at most %d", most, bound)
	}

	for i := range 5 {
		w.clock.SetTime(w.clock.Now().Add(90 * time.Second))
		before := w.sim.Stats().TotalRequests
		w.reconcile(r, key)
		if n := w.sim.Stats().TotalRequests - before; n > 1 {
			t.Fatalf("caught-up sync %d made %d requests, want at most 1 (the scan of new jobs)", i, n)
		}
	}

	// Ten days on, the pipelines of days 20 to 30 have come of age, and the
	// long job that finished 20 days ago with them.
	w.clock.SetTime(w.clock.Now().Add(10 * day))
	syncs, took, most = syncUntilCaughtUp(t, w, r, key, 3*predicted)
	more := h.checkErasedOnce(t, w, 30*day) - erased
	t.Logf("ten days on: %d more erasures in %d syncs over %s, at most %d requests a sync", more, syncs, took, most)
	if more < 300 {
		t.Errorf("ten days later %d more jobs were erased, want the ~330 that came of age", more)
	}
	if job, _ := w.sim.LatestAttempt(h.pipelines[pipelines], "soak-test"); w.sim.Stats().Actions[job.ID].Erase != 1 {
		t.Error("the long job was not erased once 30 days had passed since it finished")
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// unlimitedConnection lifts the connection's rate limit, so a test of many
// syncs is not paced by it.
func (w *unitWorld) unlimitedConnection() {
	w.t.Helper()
	conn := &civ1alpha1.GitLabConnection{}
	if err := w.client.Get(w.ctx, types.NamespacedName{Namespace: "ns", Name: "gitlab"}, conn); err != nil {
		w.t.Fatal(err)
	}
	conn.Spec.RequestsPerSecond, conn.Spec.Burst = 100000, 100000
	if err := w.client.Update(w.ctx, conn); err != nil {
		w.t.Fatal(err)
	}
}
