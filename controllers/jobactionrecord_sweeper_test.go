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
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// A record lives while its JobAction does and for the retention after it is
// gone; a JobAction applied again in that time keeps it, one with another
// spec under the same name does not.
func TestRecordSweeper(t *testing.T) {
	w := newUnitWorld(t, nil)
	const retention = time.Hour
	sweeper := &recordSweeper{client: w.client, apiReader: w.client, clock: w.clock, retention: retention}
	records := &actionRecords{client: w.client, apiReader: w.client, known: w.client, claimant: "unit"}
	spec := civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, JobID: 12}
	ja := w.createAction("deploy", spec)
	rec, err := records.claim(w.ctx, ja, &civ1alpha1.JobSummary{ID: 12}, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	recKey := client.ObjectKeyFromObject(rec)
	stored := func() *civ1alpha1.JobActionRecord {
		t.Helper()
		r := &civ1alpha1.JobActionRecord{}
		if err := w.client.Get(w.ctx, recKey, r); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			t.Fatal(err)
		}
		return r
	}
	sweep := func(after time.Duration) {
		t.Helper()
		w.clock.SetTime(w.clock.Now().Add(after))
		if err := sweeper.sweep(w.ctx); err != nil {
			t.Fatal(err)
		}
	}

	sweep(48 * time.Hour)
	if r := stored(); r == nil || r.Status.ReleasedAt != nil {
		t.Fatalf("a record of a live JobAction = %+v, want it kept and not released", r)
	}

	if err := w.client.Delete(w.ctx, ja); err != nil {
		t.Fatal(err)
	}
	sweep(time.Minute)
	if r := stored(); r == nil || r.Status.ReleasedAt == nil {
		t.Fatalf("after its JobAction is deleted the record = %+v, want it released", r)
	}

	// Applied again (same name and spec) before the retention ends: kept.
	ja = w.createAction("deploy", spec)
	sweep(retention - time.Minute)
	if r := stored(); r == nil || r.Status.ReleasedAt != nil {
		t.Fatalf("with its JobAction back the record = %+v, want it kept, no longer released", r)
	}

	// Replaced under the same name by another request: released, then deleted.
	if err := w.client.Delete(w.ctx, ja); err != nil {
		t.Fatal(err)
	}
	w.createAction("deploy", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, JobID: 13})
	sweep(time.Minute)
	if r := stored(); r == nil || r.Status.ReleasedAt == nil {
		t.Fatalf("with another request under its name the record = %+v, want it released", r)
	}
	sweep(retention - 2*time.Minute)
	if stored() == nil {
		t.Fatal("the record was deleted before its retention ended")
	}
	sweep(2 * time.Minute)
	if r := stored(); r != nil {
		t.Fatalf("after the retention the record = %+v, want it deleted", r)
	}
}
