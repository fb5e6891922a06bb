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
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

const retryRoute = "POST /api/v4/projects/:id/jobs/:job_id/retry"

// retryOfAFailedJob is a world with one failed job and a JobAction that
// retries it, without following the result.
func retryOfAFailedJob(t *testing.T) (*unitWorld, int64, *civ1alpha1.JobAction) {
	t.Helper()
	w := newUnitWorld(t, nil)
	p, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Ref: "main", Jobs: []gitlabsim.JobSpec{{Name: "rspec", Status: "failed"}}})
	if err != nil {
		t.Fatal(err)
	}
	follow := false
	ja := w.createAction("retry", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, JobID: p.Jobs[0].ID, FollowResult: &follow})
	return w, p.Jobs[0].ID, ja
}

// Two managers reconcile one JobAction (overlapping shards): while the first
// one's call is in flight, the second finds its claim and does not call.
func TestClaimInFlightIsNotCalledTwice(t *testing.T) {
	w, jobID, ja := retryOfAFailedJob(t)
	key := client.ObjectKeyFromObject(ja)
	if err := w.sim.SetFaults(gitlabsim.Faults{LatencyMS: 1500, Routes: []string{retryRoute}, Count: 1}); err != nil {
		t.Fatal(err)
	}
	a, b := w.actionReconciler("manager-a"), w.actionReconciler("manager-b")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// b's status write lands while a is calling: a's own write then
		// conflicts (the optimistic lock), and a later pass adopts its answer.
		if _, err := a.Reconcile(w.ctx, ctrl.Request{NamespacedName: key}); err != nil && !apierrors.IsConflict(err) {
			t.Errorf("a: %v", err)
		}
	}()
	// Wait until a's claim is written, then let b look while a's call is slow.
	deadline := time.Now().Add(5 * time.Second)
	for w.records(t) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	res := w.reconcile(b, key)
	if n := w.sim.Stats().Actions[jobID].Retry; n != 0 {
		t.Fatalf("while a's call was in flight, GitLab had %d retries; b must not call", n)
	}
	if res.RequeueAfter < 15*time.Second {
		t.Fatalf("b comes back in %s, want after a's call timeout (5s) and margin", res.RequeueAfter)
	}
	if c := meta.FindStatusCondition(w.action(key).Status.Conditions, civ1alpha1.ConditionProgressing); c == nil || c.Reason != civ1alpha1.ReasonActionPending {
		t.Fatalf("b's Progressing = %+v, want ActionPending", c)
	}
	wg.Wait()

	completesWithOneRetry(t, w, b, key, jobID, res.RequeueAfter)
}

// A manager that claimed a call and died: another resumes it once the
// call's timeout has passed, and asks GitLab before calling.
func TestClaimOfADeadProcessIsResumedAfterItsTimeout(t *testing.T) {
	for _, callMade := range []bool{false, true} {
		name := map[bool]string{false: "the call was never made: it is made once", true: "the call was made: it is adopted"}[callMade]
		t.Run(name, func(t *testing.T) {
			w, jobID, ja := retryOfAFailedJob(t)
			key := client.ObjectKeyFromObject(ja)
			dead := w.actionReconciler("manager-dead")
			if _, err := dead.records.claim(w.ctx, ja, &civ1alpha1.JobSummary{ID: jobID}, w.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if callMade {
				conn, err := dead.forConnection(w.ctx, "ns", "gitlab")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.client.RetryJob(w.ctx, w.project.PathWithNamespace, jobID); err != nil {
					t.Fatal(err)
				}
			}
			live := w.actionReconciler("manager-live")
			res := w.reconcile(live, key)
			if n := w.sim.Stats().Actions[jobID].Retry; n != btoi(callMade) {
				t.Fatalf("inside the claim's timeout GitLab had %d retries, want %d (no call)", n, btoi(callMade))
			}
			w.clock.SetTime(w.clock.Now().Add(res.RequeueAfter))
			w.reconcile(live, key)
			if n := w.sim.Stats().Actions[jobID].Retry; n != 1 {
				t.Fatalf("GitLab had %d retries, want exactly 1", n)
			}
			got := w.action(key)
			c := meta.FindStatusCondition(got.Status.Conditions, civ1alpha1.ConditionComplete)
			if c == nil || c.Status != "True" || c.Reason != civ1alpha1.ReasonSucceeded {
				t.Fatalf("Complete = %+v, want True/Succeeded", c)
			}
		})
	}
}

// A cache that has not yet seen the record another process has just created
// (actionRecords.get asks it first): the pass's own claim fails with
// AlreadyExists, and it resumes from that record, read around the cache, as
// if the cache had shown it: no second call.
func TestRecordTheCacheHasNotSeenIsNotCalledTwice(t *testing.T) {
	w, jobID, ja := retryOfAFailedJob(t)
	key := client.ObjectKeyFromObject(ja)
	other := w.actionReconciler("manager-other")
	if _, err := other.records.claim(w.ctx, ja, &civ1alpha1.JobSummary{ID: jobID}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	live := w.actionReconciler("manager-live")
	live.records.known = laggingCache{}
	res := w.reconcile(live, key)
	if n := w.sim.Stats().Actions[jobID].Retry; n != 0 {
		t.Fatalf("with another process's claim in flight, GitLab had %d retries; the pass must not call", n)
	}
	if c := meta.FindStatusCondition(w.action(key).Status.Conditions, civ1alpha1.ConditionProgressing); c == nil || c.Reason != civ1alpha1.ReasonActionPending {
		t.Fatalf("Progressing = %+v, want ActionPending (the other claim)", c)
	}
	completesWithOneRetry(t, w, live, key, jobID, res.RequeueAfter)
}

// laggingCache is a cache that has seen no JobActionRecord yet.
type laggingCache struct{ client.Reader }

func (laggingCache) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	return apierrors.NewNotFound(civ1alpha1.GroupVersion.WithResource("jobactionrecords").GroupResource(), key.Name)
}

// completesWithOneRetry moves the clock on by wait, reconciles the JobAction
// with r, and checks that GitLab then had exactly one retry of the job and
// the JobAction is Complete.
func completesWithOneRetry(t *testing.T, w *unitWorld, r *JobActionReconciler, key types.NamespacedName, jobID int64, wait time.Duration) {
	t.Helper()
	w.clock.SetTime(w.clock.Now().Add(wait))
	w.reconcile(r, key)
	if n := w.sim.Stats().Actions[jobID].Retry; n != 1 {
		t.Fatalf("GitLab had %d retries, want exactly 1", n)
	}
	if got := w.action(key); !isTrue(got.Status.Conditions, civ1alpha1.ConditionComplete) {
		t.Fatalf("conditions = %+v, want Complete", got.Status.Conditions)
	}
}

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// records counts the world's JobActionRecords.
func (w *unitWorld) records(t *testing.T) int {
	var list civ1alpha1.JobActionRecordList
	if err := w.client.List(w.ctx, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}
