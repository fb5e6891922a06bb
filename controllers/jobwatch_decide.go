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
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// This file is where a JobWatch decides whom to act on: each job the scan
// read is matched against the rules, then the retry budget, the backoff, the
// per-interval guard and dry-run decide whether its action is queued.

// evaluate decides, oldest job first (so that under the guard older failures
// go first), what to do with each job. A job can be read twice in one sync
// (by the scan of new jobs and by a history walk): it is decided once, and
// the second reader is told what the first was told to keep open.
func (s *syncer) evaluate(ctx context.Context, jobs []gitlab.Job, track jobTracker) error {
	newestAttempt := map[string]int64{}
	for _, j := range jobs {
		key := attemptKey(j)
		newestAttempt[key] = max(newestAttempt[key], j.ID)
	}
	slices.SortFunc(jobs, func(a, b gitlab.Job) int { return cmp.Compare(a.ID, b.ID) })
	for _, job := range jobs {
		if kept, seen := s.decided[job.ID]; seen {
			for _, k := range kept {
				track.keep(job, k.why, k.at)
			}
			continue
		}
		s.decided[job.ID] = nil
		s.track = track
		if err := s.evaluateJob(ctx, job, newestAttempt[attemptKey(job)] > job.ID); err != nil {
			return err
		}
	}
	return nil
}

// evaluateJob decides what to do with one job.
func (s *syncer) evaluateJob(ctx context.Context, job gitlab.Job, superseded bool) error {
	if s.memory.isSettled(job.ID) || (superseded && !s.hasErase) {
		return nil // nothing left to do; only erasing an older attempt could matter
	}
	if at, pending := s.pendingUntil(job.ID); pending {
		s.keep(job, openWaiting, at) // an earlier call may be in flight: not decided again
		return nil
	}
	rule, err := s.pol.ResolveByVerdicts(job, s.now, func() (policy.LogVerdicts, error) { return s.logVerdicts(ctx, job) })
	if err != nil {
		return gitlabFailure(err, fmt.Sprintf("the log of job %d", job.ID))
	}
	if rule == nil {
		s.keepOpenIfUnsettled(job)
		return nil
	}
	return s.decide(ctx, rule, job, superseded)
}

// logVerdicts reads a job's log tail and matches it against every rule's
// pattern, once per finished attempt that will be read again: its verdicts
// are remembered.
func (s *syncer) logVerdicts(ctx context.Context, job gitlab.Job) (policy.LogVerdicts, error) {
	if v, ok := s.memory.logVerdicts(job.ID); ok {
		return v, nil
	}
	tail, err := s.gl.TraceTail(ctx, s.project, job.ID, logTailBytes)
	if err != nil {
		return 0, err
	}
	v := s.pol.MatchLogs(tail)
	if slices.Contains(finishedStatuses, job.Status) && s.track.rereads() {
		s.memory.rememberLog(job.ID, v)
	}
	return v, nil
}

// decide applies the retry budget, the guard and dry-run to a matched job, and
// queues the action.
func (s *syncer) decide(ctx context.Context, rule *policy.Rule, job gitlab.Job, superseded bool) error {
	if rule.Action() == civ1alpha1.ActionRetry {
		if superseded {
			s.settleIfFinished(job)
			return nil
		}
		attempts, err := s.attemptsOf(ctx, job)
		if err != nil {
			return gitlabFailure(err, fmt.Sprintf("pipeline %d of project %s", job.PipelineID, s.project))
		}
		if !s.retryDue(rule, job, policy.RetryDecision(rule, attempts, job, s.now, retryJitter(job))) {
			return nil
		}
	}
	return s.queue(ctx, rule, job)
}

func retryJitter(job gitlab.Job) float64 { return policy.JitterFor(strconv.FormatInt(job.ID, 10)) }

// retryDue applies a retry decision: it says whether the retry is due now,
// and otherwise counts the job out or keeps it open for its backoff.
func (s *syncer) retryDue(rule *policy.Rule, job gitlab.Job, d policy.Decision) bool {
	switch d.Verdict {
	case policy.SkipSuperseded:
		s.settleIfFinished(job)
		return false
	case policy.SkipBudget:
		counters := ruleStatus(&s.jw.Status, rule.Name())
		counters.Matched++
		counters.SkippedBudget++
		s.settleIfFinished(job)
		return false
	case policy.Wait:
		s.keep(job, openWaiting, d.NotBefore)
		return false
	}
	return true
}

// queue applies the guard and dry-run to a job a rule acts on, and queues
// the action.
func (s *syncer) queue(ctx context.Context, rule *policy.Rule, job gitlab.Job) error {
	counters := ruleStatus(&s.jw.Status, rule.Name())
	s.candidates++
	counters.Matched++
	if s.budget == 0 {
		counters.SkippedGuard++
		s.heldBack = true
		s.keep(job, openHeldBack, time.Time{}) // the next interval takes it
		return nil
	}
	if s.jw.Spec.DryRun {
		if !s.recordedDryRun(rule.Name(), job.ID) {
			s.spend()
			counters.SkippedDryRun++
			s.recordDryRun(rule, job)
		}
		return nil
	}
	vars, err := s.secrets.variableValues(ctx, s.jw.Namespace, rule.Variables())
	if err != nil {
		s.keep(job, openWaiting, time.Time{})
		s.warnVariables(rule, job, err)
		return nil
	}
	s.spend()
	s.queued = append(s.queued, queuedAction{rule: rule, job: job, vars: vars})
	if a := rule.Action(); a == civ1alpha1.ActionPlay || a == civ1alpha1.ActionCancel {
		// A played or canceled job keeps its id and runs on (or winds down): a
		// later rule may still have something to say about how it ends.
		s.keep(job, openActing, time.Time{})
	}
	return nil
}

// spend counts one action against this sync and this interval.
func (s *syncer) spend() {
	s.actions++
	s.budget--
	s.window.Actions++
	s.jw.Status.ActionWindow = s.window
}

// attemptsOf returns every attempt of the job's pipeline (include_retried),
// read once per pipeline per sync.
func (s *syncer) attemptsOf(ctx context.Context, job gitlab.Job) ([]gitlab.Job, error) {
	if job.Bridge {
		return s.gl.ListPipelineBridges(ctx, s.project, job.PipelineID)
	}
	if a, ok := s.attempts[job.PipelineID]; ok {
		return a, nil
	}
	a, err := s.gl.ListPipelineJobs(ctx, s.project, job.PipelineID, true)
	if err != nil {
		return nil, err
	}
	s.attempts[job.PipelineID] = a
	return a, nil
}

// keepOpenIfUnsettled keeps a job that matched no rule open while it can
// still change into something a rule matches: it has not finished (and is
// not parked as manual or scheduled with no rule for that), or a rule will
// match it once it is old enough. Any other finished job is settled.
func (s *syncer) keepOpenIfUnsettled(job gitlab.Job) {
	at, ageing := s.pol.RevisitAt(job, s.now)
	parked := (job.Status == "manual" || job.Status == "scheduled") && !slices.Contains(s.watched, job.Status)
	switch {
	case !slices.Contains(finishedStatuses, job.Status) && !parked:
		s.keep(job, openUnfinished, at)
	case ageing:
		s.keep(job, openAgeing, at)
	default:
		s.settleIfFinished(job)
	}
}

// settleIfFinished remembers that a finished attempt needs nothing more, if
// it will be read again.
func (s *syncer) settleIfFinished(job gitlab.Job) {
	if slices.Contains(finishedStatuses, job.Status) && s.track.rereads() {
		s.memory.settle(job.ID)
	}
}

// keep tells the tracker of the jobs being evaluated why a job stays open,
// and remembers it for a second reader of the job in this sync.
func (s *syncer) keep(job gitlab.Job, why openReason, at time.Time) {
	s.decided[job.ID] = append(s.decided[job.ID], keptOpen{why: why, at: at})
	s.track.keep(job, why, at)
}

// keepOpen makes the next sync read back to jobID, and sync again by at if set.
func (s *syncer) keepOpen(jobID int64, at time.Time) {
	if s.oldestOpen == 0 || jobID < s.oldestOpen {
		s.oldestOpen = jobID
	}
	s.revisitBy(at)
}

// revisitBy makes the next sync come by at, if set.
func (s *syncer) revisitBy(at time.Time) {
	if !at.IsZero() && (s.revisit.IsZero() || at.Before(s.revisit)) {
		s.revisit = at
	}
}

// attemptKey names a job's attempts: same pipeline, same name, same kind.
func attemptKey(j gitlab.Job) string {
	return fmt.Sprintf("%d/%t/%s", j.PipelineID, j.Bridge, j.Name)
}
