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
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// recordSweeper deletes the JobActionRecords nobody needs any more: it marks
// a record released when no JobAction of its identity exists (the JobAction
// was deleted, or re-created with another spec), clears the mark when one
// comes back, and deletes the record retention after its release. It sweeps
// every few minutes, so a record lives at least retention after its JobAction
// is gone, and at most a sweep longer.
type recordSweeper struct {
	client    client.Client // cached, for JobActions
	apiReader client.Reader // records are not cached: listed in pages
	clock     clock.PassiveClock
	retention time.Duration
	every     time.Duration
	// scope limits the sweep to the records of the JobActions this manager
	// reconciles (its namespaces and shard): a record carries its JobAction's
	// labels.
	scope Scope
}

// sweepPage is how many records one List reads.
const sweepPage = 500

// Start sweeps now and then every s.every, until ctx ends.
func (s *recordSweeper) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("jobactionrecord-sweeper")
	for {
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "Sweeping JobActionRecords failed; trying again at the next sweep")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.every):
		}
	}
}

// NeedLeaderElection: only the leader sweeps.
func (s *recordSweeper) NeedLeaderElection() bool { return true }

// sweep looks at every record of the scope once.
func (s *recordSweeper) sweep(ctx context.Context) error {
	namespaces := s.scope.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		if err := s.sweepNamespace(ctx, ns); err != nil {
			return err
		}
	}
	return nil
}

func (s *recordSweeper) sweepNamespace(ctx context.Context, namespace string) error {
	opts := append([]client.ListOption{client.Limit(sweepPage)}, s.scope.listOptions(namespace)...)
	for {
		var list civ1alpha1.JobActionRecordList
		if err := s.apiReader.List(ctx, &list, opts...); err != nil {
			return err
		}
		for i := range list.Items {
			if err := s.tend(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
		}
		if list.Continue == "" {
			return nil
		}
		opts = append(opts[:len(opts):len(opts)], client.Continue(list.Continue))
	}
}

// tend releases, keeps or deletes one record.
func (s *recordSweeper) tend(ctx context.Context, rec *civ1alpha1.JobActionRecord) error {
	now := s.clock.Now()
	ja := &civ1alpha1.JobAction{}
	err := s.client.Get(ctx, client.ObjectKey{Namespace: rec.Namespace, Name: rec.Spec.JobActionName}, ja)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	alive := err == nil && actionIdentity(ja) == rec.Spec.Identity
	released := rec.Status.ReleasedAt
	switch {
	case alive && released != nil:
		return s.setReleased(ctx, rec, nil)
	case !alive && released == nil:
		return s.setReleased(ctx, rec, &metav1.Time{Time: now})
	case !alive && now.Sub(released.Time) >= s.retention:
		logf.FromContext(ctx).Info("Deleting a JobActionRecord whose JobAction is gone", "record", rec.Name,
			"namespace", rec.Namespace, "releasedAt", released.Time)
		return s.client.Delete(ctx, rec, client.Preconditions{UID: &rec.UID, ResourceVersion: &rec.ResourceVersion})
	}
	return nil
}

func (s *recordSweeper) setReleased(ctx context.Context, rec *civ1alpha1.JobActionRecord, at *metav1.Time) error {
	base := rec.DeepCopy()
	rec.Status.ReleasedAt = at
	return s.client.Patch(ctx, rec, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}
