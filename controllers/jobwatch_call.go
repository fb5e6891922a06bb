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
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// This file is where a JobWatch calls GitLab: every call is claimed first as
// a pending action in status, written under an optimistic lock, so that no
// two passes (a stale cache, a restarted or second manager) make it; a
// pending action found later is checked with GitLab before it is called
// again.

// act records the queued actions as pending, writes that to the API server,
// and only then calls GitLab for each.
func (s *syncer) act(ctx context.Context) error {
	if len(s.queued) == 0 {
		return nil
	}
	st := &s.jw.Status
	for _, q := range s.queued {
		st.PendingActions = append(st.PendingActions, civ1alpha1.PendingAction{Rule: q.rule.Name(), Action: q.rule.Action(),
			JobID: q.job.ID, JobName: truncate(q.job.Name, 255), PipelineID: q.job.PipelineID, Bridge: q.job.Bridge,
			Claimant: s.claimant, ClaimTime: ptrTo(metav1.NewMicroTime(s.now))})
	}
	if err := s.status.patch(ctx, s.jw); err != nil {
		return err
	}
	for _, q := range s.queued {
		if err := s.call(ctx, q.rule.Name(), q.rule.Action(), q.job, q.vars, q.rule.Force()); err != nil {
			return err
		}
	}
	return nil
}

// call makes one claimed call and records its answer. An answer that may
// have been lost leaves the action pending, for the next sync to check.
func (s *syncer) call(ctx context.Context, rule string, action civ1alpha1.ActionType, job gitlab.Job, vars []gitlab.Variable, force bool) error {
	result, err := perform(ctx, s.gl, s.project, action, job.ID, vars, force)
	if err != nil && !gitlab.IsTerminal(err) {
		return gitlabFailure(err, fmt.Sprintf("job %d of project %s", job.ID, s.project))
	}
	s.recordAnswer(rule, action, job, result, err, civ1alpha1.OutcomeSucceeded)
	return nil
}

// resumePending finishes the actions a previous sync recorded but did not see
// answered: it asks GitLab whether each happened, and claims and calls again
// only if not. An action whose rule was removed, or whose watch is now a dry
// run, is dropped. One claimed by another process whose call may still be in
// flight is left for later.
func (s *syncer) resumePending(ctx context.Context) error {
	for _, p := range slices.Clone(s.jw.Status.PendingActions) {
		if at, inFlight := s.pendingUntil(p.JobID); inFlight {
			// Looked at again once the claim has expired, whatever the scan
			// reads then: pending actions are found in status, not in a scan.
			s.revisitBy(at)
			continue
		}
		job := gitlab.Job{ID: p.JobID, Name: p.JobName, PipelineID: p.PipelineID, Bridge: p.Bridge}
		target := &civ1alpha1.JobSummary{ID: p.JobID, Name: p.JobName, PipelineID: p.PipelineID, Bridge: p.Bridge}
		done, err := happened(ctx, s.gl, s.project, p.Action, target)
		rule := s.pol.Rule(p.Rule)
		switch {
		case err == nil && done == nil && (rule == nil || rule.Action() != p.Action || s.jw.Spec.DryRun):
			// Not done, and the spec no longer asks for it: drop it, uncalled.
			logf.FromContext(ctx).Info("Dropping a pending action the spec no longer asks for", "rule", p.Rule, "job", p.JobID)
			s.dropPending(p.JobID)
		case err != nil && gitlab.IsTerminal(err):
			s.recordAnswer(p.Rule, p.Action, job, nil, err, civ1alpha1.OutcomeSucceeded)
		case err != nil:
			return gitlabFailure(err, fmt.Sprintf("job %d of project %s", p.JobID, s.project))
		case done != nil:
			logf.FromContext(ctx).Info("Adopting an action GitLab already performed", "rule", p.Rule, "job", p.JobID, "resultJob", done.ID)
			s.recordAnswer(p.Rule, p.Action, job, done, nil, civ1alpha1.OutcomeAdopted)
		default:
			if err := s.recall(ctx, p, rule, job); err != nil {
				return err
			}
		}
	}
	return nil
}

// recall claims a pending action again and calls: the claim is written first,
// under the optimistic lock, so of two passes that found it undone only one
// calls.
func (s *syncer) recall(ctx context.Context, p civ1alpha1.PendingAction, rule *policy.Rule, job gitlab.Job) error {
	vars, err := s.secrets.variableValues(ctx, s.jw.Namespace, rule.Variables())
	if err != nil {
		return err
	}
	for i := range s.jw.Status.PendingActions {
		if pa := &s.jw.Status.PendingActions[i]; pa.JobID == p.JobID {
			pa.Claimant, pa.ClaimTime = s.claimant, ptrTo(metav1.NewMicroTime(s.now))
		}
	}
	if err := s.status.patch(ctx, s.jw); err != nil {
		return err
	}
	return s.call(ctx, p.Rule, p.Action, job, vars, rule.Force())
}

// pendingUntil says whether jobID has a pending action whose call another
// process claimed and may still be making, and until when.
func (s *syncer) pendingUntil(jobID int64) (time.Time, bool) {
	for _, p := range s.jw.Status.PendingActions {
		if p.JobID != jobID {
			continue
		}
		if p.Claimant == s.claimant || p.ClaimTime == nil {
			return time.Time{}, false
		}
		until := p.ClaimTime.Add(s.conn.callTimeout() + inFlightMargin)
		return until, s.now.Before(until)
	}
	return time.Time{}, false
}

func (s *syncer) dropPending(jobID int64) {
	st := &s.jw.Status
	st.PendingActions = slices.DeleteFunc(st.PendingActions, func(p civ1alpha1.PendingAction) bool { return p.JobID == jobID })
}

func ptrTo[T any](v T) *T { return &v }
