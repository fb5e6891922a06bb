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
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

const (
	// logTailBytes is how much of a job's log a logPattern is matched against.
	logTailBytes = 64 << 10
	// maxScanJobs bounds one sync's reading of new jobs: a new watch starts
	// from the newest jobs, and an old open job deeper than this is let go
	// (the age rules reach such jobs by the sweep and the history walks).
	maxScanJobs = 1000
)

// syncer is one sync of one JobWatch.
//
// The scan reads the project's jobs newest first and stops at the cursor: the
// newest job seen before, or further back, the oldest job that was still open
// (running, or waiting for a backoff). Jobs in between are matched against
// the rules (jobwatch_decide.go); GitLab's state decides what is left to do,
// so a job acted on before (retried, played, canceled, erased) no longer
// matches. Rules with an age reach further: the sweep (jobwatch_sweep.go)
// and the history walks (jobwatch_history.go) bring them the jobs the scan
// never read or let go. Actions are recorded as pending in status before
// their calls, and a pending action found at the next sync is checked with
// GitLab before it is called again (jobwatch_call.go).
type syncer struct {
	*JobWatchReconciler
	jw      *civ1alpha1.JobWatch
	conn    *resolvedConnection
	gl      gitlab.Client
	project string
	pol     *policy.Policy
	memory  *watchMemory
	status  *statusPatcher
	report  *reporter
	now     time.Time
	counter *gitlab.RequestCounter

	window   *civ1alpha1.ActionWindow // this interval's actions
	budget   int                      // actions this sync may still take
	heldBack bool                     // the budget held a job back

	watched    []string // statuses some rule matches
	hasErase   bool
	attempts   map[int64][]gitlab.Job // include_retried attempts, by pipeline
	decided    map[int64][]keptOpen   // jobs decided about, and why each stays open
	track      jobTracker             // what keeping the job being decided open means
	queued     []queuedAction
	scanned    int
	candidates int
	actions    int
	newest     int64
	oldestOpen int64
	projectID  int64     // as GitLab answered, for routing webhook events
	revisit    time.Time // the earliest moment a waiting job is due
	walks      []*historyWalk
	sweepDue   time.Time // when the next sweep is due, if this sync swept
	finished   time.Time
}

type queuedAction struct {
	rule *policy.Rule
	job  gitlab.Job
	vars []gitlab.Variable
}

func newSyncer(r *JobWatchReconciler, jw *civ1alpha1.JobWatch, conn *resolvedConnection, state *watchState,
	status *statusPatcher, report *reporter, now time.Time) *syncer {
	s := &syncer{JobWatchReconciler: r, jw: jw, conn: conn, gl: conn.client, project: jw.Spec.Project.String(),
		pol: state.policy, memory: state.memory, status: status, report: report, now: now,
		attempts: map[int64][]gitlab.Job{}, decided: map[int64][]keptOpen{}, track: eventTracker{}}
	for _, rule := range s.pol.Rules() {
		for _, st := range rule.Statuses() {
			if !slices.Contains(s.watched, st) {
				s.watched = append(s.watched, st)
			}
		}
		s.hasErase = s.hasErase || rule.Action() == civ1alpha1.ActionErase
	}
	s.window, s.budget = openWindow(jw, now)
	syncRules(&jw.Status, s.pol)
	s.walks = s.planWalks()
	return s
}

// run does the sync: pending actions first, then the scan of new jobs, the
// sweep and the history walks with their decisions, and the actions; the
// cursor and the walks move only if all of it succeeded.
func (s *syncer) run(ctx context.Context) error {
	ctx, s.counter = gitlab.WithRequestCounter(ctx)
	if err := s.resumePending(ctx); err != nil {
		return err
	}
	jobs, err := s.scan(ctx)
	if err != nil {
		return gitlabFailure(err, "the jobs of project "+s.project)
	}
	if err := s.evaluate(ctx, jobs, cursorTracker{s}); err != nil {
		return err
	}
	if err := s.sweepOpen(ctx); err != nil {
		return err
	}
	if err := s.walkHistory(ctx); err != nil {
		return err
	}
	if err := s.act(ctx); err != nil {
		return err
	}
	s.recordSync()
	return nil
}

// lowestJobToRead is the lowest job id this sync must read: the oldest job
// left open, or the first job newer than the newest one seen.
func (s *syncer) lowestJobToRead() int64 {
	c := s.jw.Status.Cursor
	if c == nil {
		return 0
	}
	if c.OldestOpenJobID > 0 && c.OldestOpenJobID <= c.NewestJobID {
		return c.OldestOpenJobID
	}
	return c.NewestJobID + 1
}

// scan reads the jobs at or above lowestJobToRead, newest first, and the
// bridges of the pipelines they belong to when a rule may match bridges.
func (s *syncer) scan(ctx context.Context) ([]gitlab.Job, error) {
	low := s.lowestJobToRead()
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
	for _, j := range jobs {
		s.newest = max(s.newest, j.ID)
		s.projectID = max(s.projectID, j.ProjectID)
	}
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

// recordSync moves the cursor and the history walks, and counts the sync in
// the metrics.
func (s *syncer) recordSync() {
	st := &s.jw.Status
	cursor := civ1alpha1.ScanCursor{OldestOpenJobID: s.oldestOpen}
	if st.Cursor != nil {
		cursor.NewestJobID = st.Cursor.NewestJobID
	}
	cursor.NewestJobID = max(cursor.NewestJobID, s.newest)
	if st.Cursor == nil || *st.Cursor != cursor {
		st.Cursor = &cursor
	}
	if s.projectID != 0 {
		st.ProjectID = s.projectID
	}
	st.History = s.walkStatuses()
	if !s.sweepDue.IsZero() {
		s.memory.sweepDue = s.sweepDue
	}
	s.finished = s.Clock.Now()
	syncDuration.Observe(s.finished.Sub(s.now).Seconds())
	jobsScanned.Add(float64(s.scanned))
}

// recordFigures writes the sync's figures into status: its time, requests,
// jobs read and actions.
func (s *syncer) recordFigures() {
	st := &s.jw.Status
	st.LastSyncTime = &metav1.Time{Time: s.finished}
	st.LastSync = &civ1alpha1.SyncSummary{Requests: int32(s.counter.Count()), JobsScanned: int32(s.scanned),
		Candidates: int32(s.candidates), Actions: int32(s.actions), DurationMilliseconds: s.finished.Sub(s.now).Milliseconds()}
}

// nextSync is how long until the next sync: by the earliest job to look at
// again, history step or sweep due.
func (s *syncer) nextSync() time.Duration {
	revisit := s.revisit
	for _, t := range []time.Time{s.nextStep(), s.memory.sweepDue} {
		if !t.IsZero() && (revisit.IsZero() || t.Before(revisit)) {
			revisit = t
		}
	}
	return nextSyncAfter(s.jw, s.now, revisit, s.heldBack)
}

func (s *syncer) summary() string {
	l := s.jw.Status.LastSync
	if l == nil {
		return "Synced"
	}
	return fmt.Sprintf("Last sync read %d jobs with %d GitLab requests and took %d actions", l.JobsScanned, l.Requests, l.Actions)
}
