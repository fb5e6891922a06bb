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
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// This file is how a JobWatch answers GitLab's Job Hooks without reading
// GitLab. A Job Hook says which job changed and to what, with its name,
// stage, ref, failure reason, times and retries_count (the retries its name
// already had in its pipeline): enough for a Retry rule that matches
// neither runner tags nor a log. Most events (a job queued, started,
// passed) then cost no request at all, and a failure costs only its retry,
// where a sync would list the project and read the pipeline first. When an
// event needs more, a full sync (jobwatch_scan.go) answers it instead.

// answerEvents decides the jobs the watch's pending events describe, and acts
// on them, when the events alone can decide every one. It returns false,
// having done nothing, when one needs the job as the API lists it: a rule
// that matches runner tags or a log, an age threshold, a backoff still
// running, an action other than Retry, or a Pipeline Hook.
func (s *syncer) answerEvents(ctx context.Context, mark hookMark) (bool, error) {
	if mark.scan {
		return false, nil
	}
	type retry struct {
		rule *policy.Rule
		e    eventJob
	}
	var todo []retry
	for _, e := range slices.SortedFunc(maps.Values(mark.jobs), func(a, b eventJob) int { return cmp.Compare(a.job.ID, b.job.ID) }) {
		s.projectID = max(s.projectID, e.job.ProjectID)
		if s.memory.isSettled(e.job.ID) {
			continue // acted on, or nothing left to do: a duplicate or late delivery
		}
		if _, pending := s.pendingUntil(e.job.ID); pending || s.hasPending(e.job.ID) {
			continue
		}
		rule, decided := s.pol.MatchKnown(e.job, s.now)
		if !decided {
			return false, nil
		}
		if rule == nil {
			continue
		}
		if rule.Action() != civ1alpha1.ActionRetry ||
			policy.RetryDecisionByCount(rule, e.retries, 0, e.job, s.now, retryJitter(e.job)).Verdict == policy.Wait {
			return false, nil
		}
		todo = append(todo, retry{rule, e})
	}
	ctx, s.counter = gitlab.WithRequestCounter(ctx)
	if err := s.resumePending(ctx); err != nil {
		return true, err
	}
	for _, t := range todo {
		d := policy.RetryDecisionByCount(t.rule, t.e.retries, 0, t.e.job, s.now, retryJitter(t.e.job))
		if !s.retryDue(t.rule, t.e.job, d) {
			continue
		}
		if err := s.queue(ctx, t.rule, t.e.job); err != nil {
			return true, err
		}
	}
	if err := s.act(ctx); err != nil {
		return true, err
	}
	if s.counter.Count() > 0 || s.candidates > 0 {
		s.recordEventSync(len(mark.jobs))
	}
	return true, nil
}

// hasPending says the job has a pending action in status.
func (s *syncer) hasPending(jobID int64) bool {
	return slices.ContainsFunc(s.jw.Status.PendingActions, func(p civ1alpha1.PendingAction) bool { return p.JobID == jobID })
}

// recordEventSync records what answering events did, when they did
// something (events that decide nothing write no status). The cursor and the
// next scheduled sync stay: the events say nothing of the jobs around them.
func (s *syncer) recordEventSync(events int) {
	st := &s.jw.Status
	if s.projectID != 0 {
		st.ProjectID = s.projectID
	}
	finished := s.Clock.Now()
	st.LastSyncTime = &metav1.Time{Time: finished}
	st.LastSync = &civ1alpha1.SyncSummary{Requests: int32(s.counter.Count()), JobsScanned: int32(events),
		Candidates: int32(s.candidates), Actions: int32(s.actions), DurationMilliseconds: finished.Sub(s.now).Milliseconds()}
	syncDuration.Observe(finished.Sub(s.now).Seconds())
}
