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
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// A sync that finds nothing new writes no status, except every 10 minutes
// (lastSyncTime stays that fresh); the watch keeps its schedule in memory;
// a sync that acts writes at once.
func TestQuietSyncsWriteNoStatusButEveryTenMinutes(t *testing.T) {
	writes := 0
	w := newUnitWorld(t, &interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
		if _, ok := obj.(*civ1alpha1.JobWatch); ok {
			writes++
		}
		return c.SubResource(sub).Patch(ctx, obj, p, opts...)
	}})
	if _, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Jobs: []gitlabsim.JobSpec{{Name: "unit", Status: gitlabsim.StatusSuccess}}}); err != nil {
		t.Fatal(err)
	}
	const interval = time.Minute
	key := w.createWatch("quiet", civ1alpha1.JobWatchSpec{IntervalSeconds: 60, MaxActionsPerSync: 5, Rules: []civ1alpha1.WatchRule{
		{Name: "infra", Action: civ1alpha1.ActionRetry, Match: civ1alpha1.RuleMatch{FailureReasons: []string{"runner_system_failure"}}}}})
	r := w.watchReconciler("unit")
	start := w.clock.Now()
	res := w.reconcile(r, key)
	if writes != 1 || w.watch(key).Status.LastSyncTime == nil {
		t.Fatalf("the first sync made %d status writes, want 1", writes)
	}

	syncs := 0
	for w.clock.Now().Sub(start) < 25*time.Minute {
		w.clock.SetTime(w.clock.Now().Add(res.RequeueAfter))
		before := w.sim.Stats().TotalRequests
		res = w.reconcile(r, key)
		if w.sim.Stats().TotalRequests > before {
			syncs++
		}
		if res.RequeueAfter < interval/2 || res.RequeueAfter > 3*interval/2 {
			t.Fatalf("a quiet sync asks to come back in %s, want its next slot", res.RequeueAfter)
		}
	}
	if syncs < 20 || writes != 3 {
		t.Fatalf("%d quiet syncs over 25 minutes made %d status writes, want 2 (every 10 minutes) after the first", syncs, writes-1)
	}
	if jw := w.watch(key); w.clock.Now().Sub(jw.Status.LastSyncTime.Time) > 10*time.Minute+interval {
		t.Errorf("lastSyncTime %s is more than 10 minutes old at %s", jw.Status.LastSyncTime, w.clock.Now())
	}

	p, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Jobs: []gitlabsim.JobSpec{
		{Name: "rspec", Status: gitlabsim.StatusFailed, FailureReason: "runner_system_failure"}}})
	if err != nil {
		t.Fatal(err)
	}
	before := writes
	w.clock.SetTime(w.clock.Now().Add(res.RequeueAfter))
	w.reconcile(r, key)
	if w.sim.Stats().Actions[p.Jobs[0].ID].Retry != 1 || writes == before {
		t.Fatalf("a sync that retried a job made %d status writes", writes-before)
	}
}

// A thousand watches applied together take their first syncs evenly over
// the interval (or over a minute, for longer intervals), not bunched.
func TestFirstSlotsSpreadEvenly(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 17, 0, time.UTC)
	for _, seconds := range []int32{30, 3600} {
		span := min(time.Duration(seconds)*time.Second, maxStartSpread)
		var slices [6]int
		for i := range 1200 {
			jw := &civ1alpha1.JobWatch{Spec: civ1alpha1.JobWatchSpec{IntervalSeconds: seconds}}
			jw.Namespace, jw.Name = "ns", fmt.Sprintf("watch-%04d", i)
			d := firstSlot(jw, now).Sub(now)
			if d < 0 || d >= span {
				t.Fatalf("interval %ds: first sync %s after now, want within %s", seconds, d, span)
			}
			slices[int(d*6/span)]++
		}
		for i, n := range slices {
			if n < 140 || n > 260 {
				t.Errorf("interval %ds: slice %d of the span holds %d of 1200 first syncs, want about 200: %v", seconds, i, n, slices)
			}
		}
	}
}
