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
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// A sync reads jobs three ways: the scan of new jobs (jobwatch_scan.go), the
// sweep of jobs in transient statuses (jobwatch_sweep.go) and the history
// walks (jobwatch_history.go); webhook events bring jobs a fourth way
// (jobwatch_events.go). Deciding about a job is the same whichever way
// it came (jobwatch_decide.go); what it means to keep a job open is not, and
// each way has its jobTracker.

// openReason is why a job is kept open: what a later sync comes back for.
type openReason int

const (
	// openUnfinished: the job has not finished, so its status may still
	// change into one a rule matches.
	openUnfinished openReason = iota
	// openActing: the job was played or canceled and runs on (or winds down).
	openActing
	// openWaiting: the job waits for a known moment (a backoff, another
	// process's claim) or for something outside GitLab (a Secret).
	openWaiting
	// openHeldBack: the guard (maxActionsPerSync) held it back to the next
	// interval.
	openHeldBack
	// openAgeing: a rule will match the finished job once it is old enough.
	openAgeing
)

// keptOpen is one reason given for keeping a job open, remembered for the
// sync's second reader of the job.
type keptOpen struct {
	why openReason
	at  time.Time // when to come back; zero when not known
}

// jobTracker is what keeping a job open means where it was read.
type jobTracker interface {
	keep(job gitlab.Job, why openReason, at time.Time)
	// rereads says jobs read this way are read again at later syncs, so
	// remembering those that need nothing more (watchMemory) saves work; a
	// walk reads each job once, and would only push those out.
	rereads() bool
}

// cursorTracker keeps jobs of the scan of new jobs in the scan window: the
// next sync reads back to the oldest. A job waiting only to be old enough is
// left to the history walk in a project watch, which reaches it when it is
// (a window held open for an age threshold of days would be read again at
// every sync); a pipeline watch reads its whole pipeline anyway.
type cursorTracker struct{ s *syncer }

func (cursorTracker) rereads() bool { return true }

func (t cursorTracker) keep(job gitlab.Job, why openReason, at time.Time) {
	if why == openAgeing && t.s.jw.Spec.PipelineID == 0 {
		return
	}
	t.s.keepOpen(job.ID, at)
}

// eventTracker is for jobs decided from webhook events alone
// (jobwatch_events.go): that moves no cursor, and the next sync reads the
// jobs kept open anyway.
type eventTracker struct{}

func (eventTracker) rereads() bool { return true }

func (eventTracker) keep(gitlab.Job, openReason, time.Time) {}

// walkTracker holds a history walk at the pipeline being visited: the walk
// passes a pipeline only when nothing in it is left for its rules to do. A
// job that is not old enough for the walk's age, a backoff, a claim in
// flight or the guard stop it there. Unfinished and acting jobs do not: the
// pipeline's status changes when they end, which brings it round again, and
// jobs in transient statuses are the sweep's.
type walkTracker struct {
	s    *syncer
	age  time.Duration
	held bool
	at   time.Time // the earliest moment the walk may go on; zero: next sync
}

func (*walkTracker) rereads() bool { return false }

func (t *walkTracker) keep(job gitlab.Job, why openReason, at time.Time) {
	switch why {
	case openActing:
		return
	case openUnfinished, openAgeing:
		var ok bool
		if at, ok = t.s.pol.RevisitAtForAge(job, t.s.now, t.age); !ok {
			return
		}
	}
	switch {
	case !t.held:
		t.at = at
	case t.at.IsZero(): // already the next sync
	case at.IsZero() || at.Before(t.at):
		t.at = at
	}
	t.held = true
}

// sweepTracker notes when a swept job will need looking at: the sweep comes
// back then (or at its period, if sooner).
type sweepTracker struct {
	s  *syncer
	at time.Time
}

func (*sweepTracker) rereads() bool { return true }

func (t *sweepTracker) keep(_ gitlab.Job, why openReason, at time.Time) {
	if at.IsZero() || why == openHeldBack {
		return
	}
	if t.at.IsZero() || at.Before(t.at) {
		t.at = at
	}
	t.s.revisitBy(at)
}
