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
	"maps"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

const (
	// logTailBytes is how much of a job's log a logPattern is matched against.
	logTailBytes = 64 << 10
	// maxScanJobs bounds one sync's reading of a project: a new watch starts from
	// the newest jobs, and an old open job deeper than this is let go.
	maxScanJobs = 1000
	// openHorizon bounds how long a job waiting for a rule's age threshold keeps
	// the scan reading back to it.
	openHorizon = 24 * time.Hour
)

// finishedStatuses are the statuses a job leaves only by being retried (which
// makes a new job).
var finishedStatuses = []string{"success", "failed", "canceled", "skipped"}

// syncer is one sync of one JobWatch.
//
// The scan reads the project's jobs newest first and stops at the cursor: the
// newest job seen before, or further back, the oldest job that was still open
// (running, or waiting for a backoff or an age threshold). Jobs in between are
// matched against the rules; GitLab's state decides what is left to do, so a
// job acted on before (retried, played, canceled, erased) no longer matches.
// Actions are recorded as pending in status before their calls, and a pending
// action found at the next sync is checked with GitLab before it is called.
type syncer struct {
	*JobWatchReconciler
	jw      *civ1alpha1.JobWatch
	gl      gitlab.Client
	project string
	pol     *policy.Policy
	w       *statusWriter
	now     time.Time
	started time.Time
	counter *gitlab.RequestCounter

	watched    []string // statuses some rule matches
	hasErase   bool
	attempts   map[int64][]gitlab.Job // include_retried attempts, by pipeline
	queued     []queuedAction
	scanned    int
	candidates int
	actions    int
	newest     int64
	oldestOpen int64
	revisit    time.Time // the earliest moment a waiting job is due
}

type queuedAction struct {
	rule *policy.Rule
	job  gitlab.Job
	vars []gitlab.Variable
}

func newSyncer(r *JobWatchReconciler, jw *civ1alpha1.JobWatch, conn *resolvedConnection, pol *policy.Policy, w *statusWriter) *syncer {
	s := &syncer{JobWatchReconciler: r, jw: jw, gl: conn.client, project: jw.Spec.Project.String(), pol: pol, w: w,
		now: r.Now(), attempts: map[int64][]gitlab.Job{}}
	s.started = s.now
	for _, rule := range pol.Rules() {
		for _, st := range rule.Statuses() {
			if !slices.Contains(s.watched, st) {
				s.watched = append(s.watched, st)
			}
		}
		s.hasErase = s.hasErase || rule.Action() == civ1alpha1.ActionErase
	}
	syncRules(&jw.Status, pol)
	return s
}

// run does the sync: pending actions first, then the scan, the decisions and
// the actions; the cursor moves only if all of it succeeded.
func (s *syncer) run(ctx context.Context) error {
	ctx, s.counter = gitlab.WithRequestCounter(ctx)
	if err := s.resumePending(ctx); err != nil {
		return err
	}
	jobs, err := s.scan(ctx)
	if err != nil {
		return gitlabFailure(err, "the jobs of project "+s.project)
	}
	if err := s.evaluate(ctx, jobs); err != nil {
		return err
	}
	if err := s.act(ctx); err != nil {
		return err
	}
	s.finish()
	return nil
}

// low is the lowest job id this sync must read.
func (s *syncer) low() int64 {
	c := s.jw.Status.Cursor
	if c == nil {
		return 0
	}
	if c.OldestOpenJobID > 0 && c.OldestOpenJobID <= c.NewestJobID {
		return c.OldestOpenJobID
	}
	return c.NewestJobID + 1
}

// scan reads the jobs at or above low(), newest first, and the bridges of the
// pipelines they belong to when a rule may match bridges.
func (s *syncer) scan(ctx context.Context) ([]gitlab.Job, error) {
	low := s.low()
	var jobs []gitlab.Job
	if pipeline := s.jw.Spec.PipelineID; pipeline != 0 {
		all, err := s.gl.ListPipelineJobs(ctx, s.project, pipeline, true)
		if err != nil {
			return nil, err
		}
		s.attempts[pipeline] = all
		for _, j := range all {
			if j.ID >= low {
				jobs = append(jobs, j)
			}
		}
	} else {
		err := s.gl.ListProjectJobs(ctx, s.project, nil, func(j gitlab.Job) bool {
			if j.ID < low {
				return false
			}
			jobs = append(jobs, j)
			return len(jobs) < maxScanJobs
		})
		if err != nil {
			return nil, err
		}
	}
	s.scanned = len(jobs)
	if !s.pol.NeedsBridges() {
		return jobs, nil
	}
	pipelines := map[int64]bool{}
	if s.jw.Spec.PipelineID != 0 {
		pipelines[s.jw.Spec.PipelineID] = true
	}
	for _, j := range jobs {
		pipelines[j.PipelineID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(pipelines)) {
		bridges, err := s.gl.ListPipelineBridges(ctx, s.project, id)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, bridges...)
		s.scanned += len(bridges)
	}
	return jobs, nil
}

// evaluate decides, oldest job first (so that under maxActionsPerSync older
// failures go first), what to do with each job.
func (s *syncer) evaluate(ctx context.Context, jobs []gitlab.Job) error {
	newestAttempt := map[string]int64{}
	for _, j := range jobs {
		key := attemptKey(j)
		newestAttempt[key] = max(newestAttempt[key], j.ID)
		s.newest = max(s.newest, j.ID)
	}
	slices.SortFunc(jobs, func(a, b gitlab.Job) int { return cmp.Compare(a.ID, b.ID) })
	for _, job := range jobs {
		if newestAttempt[attemptKey(job)] > job.ID && !s.hasErase {
			continue // an older attempt: only erasing it could matter
		}
		rule, err := s.pol.Resolve(job, s.now, func() ([]byte, error) {
			return s.gl.TraceTail(ctx, s.project, job.ID, logTailBytes)
		})
		if err != nil {
			return gitlabFailure(err, fmt.Sprintf("the log of job %d", job.ID))
		}
		if rule == nil {
			s.keepOpenIfUnsettled(job)
			continue
		}
		if err := s.decide(ctx, rule, job, newestAttempt[attemptKey(job)] > job.ID); err != nil {
			return err
		}
	}
	return nil
}

// decide applies the retry budget, the guard and dry-run to a matched job, and
// queues the action.
func (s *syncer) decide(ctx context.Context, rule *policy.Rule, job gitlab.Job, superseded bool) error {
	counters := ruleStatus(&s.jw.Status, rule.Name())
	if rule.Action() == civ1alpha1.ActionRetry {
		if superseded {
			return nil
		}
		attempts, err := s.attemptsOf(ctx, job)
		if err != nil {
			return gitlabFailure(err, fmt.Sprintf("pipeline %d of project %s", job.PipelineID, s.project))
		}
		d := policy.RetryDecision(rule, attempts, job, s.now, policy.JitterFor(strconv.FormatInt(job.ID, 10)))
		switch d.Verdict {
		case policy.SkipSuperseded:
			return nil
		case policy.SkipBudget:
			counters.Matched++
			counters.SkippedBudget++
			return nil
		case policy.Wait:
			s.keepOpen(job.ID, d.NotBefore)
			return nil
		}
	}
	s.candidates++
	counters.Matched++
	if s.actions >= int(s.jw.Spec.MaxActionsPerSync) {
		counters.SkippedGuard++
		s.keepOpen(job.ID, s.now)
		return nil
	}
	if s.jw.Spec.DryRun {
		if !s.recordedDryRun(rule.Name(), job.ID) {
			s.actions++
			counters.SkippedDryRun++
			s.recordDryRun(rule, job)
		}
		return nil
	}
	vars, err := s.variableValues(ctx, s.jw.Namespace, rule.Variables())
	if err != nil {
		s.keepOpen(job.ID, time.Time{})
		s.warnOnce(rule, job, err)
		return nil
	}
	s.actions++
	s.queued = append(s.queued, queuedAction{rule: rule, job: job, vars: vars})
	if a := rule.Action(); a == civ1alpha1.ActionPlay || a == civ1alpha1.ActionCancel {
		// A played or canceled job keeps its id and runs on (or winds down): a
		// later rule may still have something to say about how it ends.
		s.keepOpen(job.ID, time.Time{})
	}
	return nil
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

// keepOpenIfUnsettled keeps a job that matched no rule in the scan window while
// it can still change into something a rule matches: it has not finished (and
// is not parked as manual or scheduled with no rule for that), or a rule will
// match it once it is old enough.
func (s *syncer) keepOpenIfUnsettled(job gitlab.Job) {
	parked := (job.Status == "manual" || job.Status == "scheduled") && !slices.Contains(s.watched, job.Status)
	if !slices.Contains(finishedStatuses, job.Status) && !parked {
		s.keepOpen(job.ID, time.Time{})
		return
	}
	if at, ok := s.pol.RevisitAt(job, s.now); ok && at.Sub(s.now) <= openHorizon {
		s.keepOpen(job.ID, at)
	}
}

// keepOpen makes the next sync read back to jobID, and sync again by at if set.
func (s *syncer) keepOpen(jobID int64, at time.Time) {
	if s.oldestOpen == 0 || jobID < s.oldestOpen {
		s.oldestOpen = jobID
	}
	if !at.IsZero() && (s.revisit.IsZero() || at.Before(s.revisit)) {
		s.revisit = at
	}
}

// finish moves the cursor and records the figures of the sync.
func (s *syncer) finish() {
	st := &s.jw.Status
	cursor := civ1alpha1.ScanCursor{OldestOpenJobID: s.oldestOpen}
	if st.Cursor != nil {
		cursor.NewestJobID = st.Cursor.NewestJobID
	}
	cursor.NewestJobID = max(cursor.NewestJobID, s.newest)
	st.Cursor = &cursor
	now := metav1.NewTime(s.Now())
	st.LastSyncTime = &now
	duration := now.Sub(s.started)
	st.LastSync = &civ1alpha1.SyncSummary{Requests: int32(s.counter.Count()), JobsScanned: int32(s.scanned),
		Candidates: int32(s.candidates), Actions: int32(s.actions), DurationMilliseconds: duration.Milliseconds()}
	syncDuration.Observe(duration.Seconds())
	jobsScanned.Add(float64(s.scanned))
}

func (s *syncer) summary() string {
	l := s.jw.Status.LastSync
	return fmt.Sprintf("Last sync read %d jobs with %d GitLab requests and took %d actions", l.JobsScanned, l.Requests, l.Actions)
}

// attemptKey names a job's attempts: same pipeline, same name, same kind.
func attemptKey(j gitlab.Job) string {
	return fmt.Sprintf("%d/%t/%s", j.PipelineID, j.Bridge, j.Name)
}
