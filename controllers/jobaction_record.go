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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// A JobActionRecord is a JobAction's claim on its one mutating call, kept in
// an object of its own so that it outlives the JobAction: a JobAction that
// comes back with the same name and spec (re-applied by a GitOps tool after
// its TTL deleted it, restored from a backup) finds the record, asks GitLab
// whether the claimed action happened, and reports it instead of acting
// again. The record's name is derived from the JobAction's name and spec, so
// creating it is also the lock that lets only one pass make the call: a
// second create fails with AlreadyExists.
//
// Whether a JobAction has a record is first asked of a metadata-only cache
// of records (managedFields stripped, a few hundred bytes a record): most
// JobActions are new and have none, and then the pass reads nothing more
// from the API server. A record the cache shows is read through the API
// server, never from a cache. A record the cache has not seen yet can only be
// one another pass is creating at this moment: this pass's own claim then
// fails with AlreadyExists and it reads that record around the cache.
// recordSweeper deletes records a retention after their JobAction is gone.

// inFlightMargin is added to a connection's request timeout to decide that a
// call claimed by another process has certainly ended: clocks differ, and
// the call's own timeout starts a little after its claim.
const inFlightMargin = 15 * time.Second

// actionRecords reads and writes JobActionRecords for one manager process.
type actionRecords struct {
	client    client.Client
	apiReader client.Reader
	// known reads the metadata of records from the cache (recordMetadata).
	known client.Reader
	// claimant names this process in the claims it makes.
	claimant string
}

// actionIdentity is the digest of what makes two JobActions one request: the
// name and every spec field but those that only say how to report
// (followResult, ttlSecondsAfterFinished). A project written as 42 or "42"
// is the same project.
func actionIdentity(ja *civ1alpha1.JobAction) string {
	spec := ja.Spec.DeepCopy()
	spec.FollowResult, spec.TTLSecondsAfterFinished = nil, nil
	spec.Project = intstr.FromString(spec.Project.String())
	data, err := json.Marshal(struct {
		Name string                    `json:"name"`
		Spec *civ1alpha1.JobActionSpec `json:"spec"`
	}{ja.Name, spec})
	if err != nil { // a struct of strings and numbers always marshals
		panic(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// recordName is the record's object name: the JobAction's name, shortened to
// leave room, and the start of its identity.
func recordName(jobActionName, identity string) string {
	const suffix = 1 + 10
	name := jobActionName
	if len(name) > 253-suffix {
		name = strings.TrimRight(name[:253-suffix], ".-")
	}
	return name + "-" + identity[:10]
}

// recordMetadata is the object the cache keeps for each record: its metadata
// only (Scope.CacheOptions).
func recordMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(civ1alpha1.GroupVersion.WithKind("JobActionRecord"))
	return m
}

// recordKey is the key of the record of ja, whose identity is given.
func recordKey(ja *civ1alpha1.JobAction, identity string) client.ObjectKey {
	return client.ObjectKey{Namespace: ja.Namespace, Name: recordName(ja.Name, identity)}
}

// get returns the JobAction's record, or nil when it has none: nil at once
// when the cache knows of none, otherwise as read.
func (r *actionRecords) get(ctx context.Context, ja *civ1alpha1.JobAction) (*civ1alpha1.JobActionRecord, error) {
	identity := actionIdentity(ja)
	err := r.known.Get(ctx, recordKey(ja, identity), recordMetadata())
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return r.readAs(ctx, ja, identity)
}

// read returns the JobAction's record as the API server has it, or nil when
// it has none.
func (r *actionRecords) read(ctx context.Context, ja *civ1alpha1.JobAction) (*civ1alpha1.JobActionRecord, error) {
	return r.readAs(ctx, ja, actionIdentity(ja))
}

// readAs is read, for a JobAction whose identity is already computed.
func (r *actionRecords) readAs(ctx context.Context, ja *civ1alpha1.JobAction, identity string) (*civ1alpha1.JobActionRecord, error) {
	rec := &civ1alpha1.JobActionRecord{}
	err := r.apiReader.Get(ctx, recordKey(ja, identity), rec)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.Spec.Identity != identity || rec.Spec.JobActionName != ja.Name {
		return nil, fmt.Errorf("JobActionRecord %s belongs to another JobAction (%s): rename one of them", rec.Name, rec.Spec.JobActionName)
	}
	return rec, nil
}

// claim creates the JobAction's record, claiming the call on target for this
// pass. An AlreadyExists error means another pass claimed it first.
func (r *actionRecords) claim(ctx context.Context, ja *civ1alpha1.JobAction, target *civ1alpha1.JobSummary, now time.Time) (*civ1alpha1.JobActionRecord, error) {
	identity := actionIdentity(ja)
	rec := &civ1alpha1.JobActionRecord{
		ObjectMeta: metav1.ObjectMeta{Namespace: ja.Namespace, Name: recordName(ja.Name, identity), Labels: maps.Clone(ja.Labels)},
		Spec: civ1alpha1.JobActionRecordSpec{
			JobActionName: ja.Name, Identity: identity, Action: ja.Spec.Action, Project: ja.Spec.Project.String(),
			Target: *target, Claim: r.newClaim(ja, now),
		},
	}
	if err := r.client.Create(ctx, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// reclaim claims the call again before it is repeated. The patch is
// optimistically locked: of two passes that decided to call, one fails here.
func (r *actionRecords) reclaim(ctx context.Context, rec *civ1alpha1.JobActionRecord, ja *civ1alpha1.JobAction, now time.Time) error {
	base := rec.DeepCopy()
	rec.Spec.Claim = r.newClaim(ja, now)
	return r.client.Patch(ctx, rec, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

func (r *actionRecords) newClaim(ja *civ1alpha1.JobAction, now time.Time) civ1alpha1.ActionClaim {
	return civ1alpha1.ActionClaim{JobActionUID: ja.UID, Claimant: r.claimant, Time: metav1.NewMicroTime(now)}
}

// inFlightFor is how long a claim made by another process may still have
// its call in flight: until the connection's timeout (and a margin) has
// passed since the claim. A claim of this process has no call in flight once
// its pass has returned, since one object is never reconciled twice at once.
func (r *actionRecords) inFlightFor(claim civ1alpha1.ActionClaim, timeout time.Duration, now time.Time) time.Duration {
	if claim.Claimant == r.claimant {
		return 0
	}
	return claim.Time.Add(timeout + inFlightMargin).Sub(now)
}
