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
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// The history walks: how age rules (minAgeSeconds) reach every job of a
// project, however large and old, once each job is old enough.
//
// A walk reads the project's pipelines forward in time, in order of their
// last update (GET /projects/:id/pipelines?order_by=updated_at&sort=asc),
// and visits each pipeline (its jobs, retried attempts included) once it has
// been quiet for the walk's age. GitLab writes a pipeline when its status
// changes, so a finished pipeline's updated_at is at or after every one of
// its jobs' finish: when it has been quiet for minAgeSeconds, every job in it
// is old enough for an Erase rule of that age, and (created earlier still)
// for a Retry, Play or Cancel rule of that age. The walk's frontier is the
// last update it has reached (status.history[].reachedTime), and the next
// step asks for pipelines updated at or after it: a filter, so the ten
// thousandth page of history costs what the first does, where an offset
// would make GitLab count through the rows before it. A pipeline that
// changes after its visit (a job retried a year later) moves past the
// frontier and is visited again when it has been quiet long enough.
//
// Why not the jobs list, which holds every job? It is newest first only
// (keyset, id descending), so reaching the jobs that have just become old
// enough, which sit below every newer job, means reading through all of
// those at each pass, or keeping GitLab's opaque cursors for later. Jobs
// also come of age in the order they finish, not of their ids (a long job
// finishes after many newer ones); a pipeline's last update is exactly when
// its last job finished. The cost is a request per pipeline instead of one
// per hundred jobs, while Erase rules, the common age rules, make a request
// per job anyway.
//
// Why not pipelines by id with a frontier at the first one not old enough?
// The list's only seek by id is an offset, which deletions of old pipelines
// shift, and a pipeline's id says when it was created, not when its jobs
// finished.
//
// GitLab lists child pipelines only when asked (source=parent_pipeline), so
// each age has a second walk over them. Rules of different ages have walks
// of their own: a pipeline quiet for a day is old enough for a rule of a
// day, not for one of a month. Each sync's walks make at most
// historyRequestsPerSync requests (one pipeline's pages may run over), and
// act within the watch's maxActionsPerSync, which bounds how fast a backlog
// goes: a new watch erasing N old jobs needs about N / maxActionsPerSync
// syncs, or (pipelines to read) / historyRequestsPerSync if more. Once
// caught up, a walk sleeps until its next pipeline comes of age
// (status.history[].nextTime): no request at all in between.

const (
	// historyRequestsPerSync bounds the requests of one sync's history walks,
	// so a new watch on a large project takes its backlog a slice at a time
	// and leaves the connection's rate limit to other watches in between.
	historyRequestsPerSync = 20
	// maxReachedIDs bounds status.history[].reachedPipelineIDs.
	maxReachedIDs = 100
)

// historyWalk is one walk during a sync; its status is written when the
// sync succeeds.
type historyWalk struct {
	status civ1alpha1.HistoryWalk
	age    time.Duration
}

// planWalks returns the walks the rules need, in status order: for each age
// of HistoryAges, one over the project's pipelines and one over its child
// pipelines, carried on from status while their rules are unchanged. A
// pipeline watch reads its whole pipeline at every sync and needs none.
func (s *syncer) planWalks() []*historyWalk {
	if s.jw.Spec.PipelineID != 0 {
		return nil
	}
	var walks []*historyWalk
	for _, age := range s.pol.HistoryAges() {
		hash := rulesHash(s.jw.Spec.Rules, age)
		for _, children := range []bool{false, true} {
			w := &historyWalk{age: age, status: civ1alpha1.HistoryWalk{
				MinAgeSeconds: int64(age / time.Second), ChildPipelines: children, RulesHash: hash}}
			if i := slices.IndexFunc(s.jw.Status.History, func(h civ1alpha1.HistoryWalk) bool {
				return h.MinAgeSeconds == w.status.MinAgeSeconds && h.ChildPipelines == children && h.RulesHash == hash
			}); i >= 0 {
				w.status = *s.jw.Status.History[i].DeepCopy()
			}
			walks = append(walks, w)
		}
	}
	return walks
}

// rulesHash identifies the rules of one age: the walk of that age starts
// again when they change.
func rulesHash(rules []civ1alpha1.WatchRule, age time.Duration) string {
	h := fnv.New64a()
	for _, r := range rules {
		if r.Match.MinAgeSeconds == int64(age/time.Second) {
			b, _ := json.Marshal(r)
			_, _ = h.Write(b)
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// walkHistory takes the step of each walk that is due, sharing the sync's
// requests between them.
func (s *syncer) walkHistory(ctx context.Context) error {
	var due []*historyWalk
	for _, w := range s.walks {
		if w.due(s.now) {
			due = append(due, w)
		}
	}
	left := historyRequestsPerSync
	for i, w := range due {
		share := (left + len(due) - i - 1) / (len(due) - i)
		before := s.counter.Count()
		if err := s.step(ctx, w, share); err != nil {
			return err
		}
		left -= int(s.counter.Count() - before)
	}
	return nil
}

// step walks on from w's frontier: it visits, in order of last update, the
// pipelines quiet for w's age, until it reaches one that is not, a pipeline
// it must wait at, or the end of its share of requests or of the sync's
// actions.
func (s *syncer) step(ctx context.Context, w *historyWalk, share int) error {
	start := s.counter.Count()
	spent := func() bool { return int(s.counter.Count()-start) >= share || s.budget == 0 }
	cut := s.now.Add(-w.age)
	for !spent() {
		page, err := s.gl.ListPipelinesUpdatedSince(ctx, s.project, w.since(), w.status.ChildPipelines)
		if err != nil {
			return gitlabFailure(err, "the pipelines of project "+s.project)
		}
		fresh := 0
		for _, p := range page {
			if w.visited(p) {
				continue
			}
			fresh++
			if p.UpdatedAt.After(cut) {
				w.waitUntil(p.UpdatedAt.Add(w.age))
				return nil
			}
			if spent() {
				w.behind()
				return nil
			}
			held, at, err := s.visit(ctx, w, p)
			if err != nil {
				return err
			}
			if held {
				w.waitUntil(at)
				return nil
			}
			w.pass(p)
		}
		if len(page) < gitlab.PipelinesPerPage {
			// Every pipeline updated since the frontier has been seen: the
			// next to come of age is one updated from now on.
			w.waitUntil(s.now.Add(w.age))
			return nil
		}
		if fresh == 0 {
			w.stepPastTies()
		}
	}
	w.behind()
	return nil
}

// visit reads a pipeline's jobs, every attempt, and decides about each. held
// says the walk must not pass the pipeline yet, and until when (zero: the
// next sync).
func (s *syncer) visit(ctx context.Context, w *historyWalk, p gitlab.Pipeline) (held bool, at time.Time, err error) {
	jobs, err := s.gl.ListPipelineJobs(ctx, s.project, p.ID, true)
	if gitlab.ClassOf(err) == gitlab.NotFound {
		return false, time.Time{}, nil // deleted since it was listed: nothing left to do
	}
	if err != nil {
		return false, time.Time{}, gitlabFailure(err, fmt.Sprintf("pipeline %d of project %s", p.ID, s.project))
	}
	s.attempts[p.ID] = jobs
	if s.pol.NeedsBridges() {
		bridges, err := s.gl.ListPipelineBridges(ctx, s.project, p.ID)
		if err != nil {
			return false, time.Time{}, gitlabFailure(err, fmt.Sprintf("pipeline %d of project %s", p.ID, s.project))
		}
		jobs = append(jobs, bridges...)
	}
	s.scanned += len(jobs)
	track := &walkTracker{s: s, age: w.age}
	if err := s.evaluate(ctx, jobs, track); err != nil {
		return false, time.Time{}, err
	}
	return track.held, track.at, nil
}

// due says whether the walk has a step to take at now: it is behind, or
// what it waits for has come.
func (w *historyWalk) due(now time.Time) bool {
	return w.status.NextTime == nil || !w.status.NextTime.After(now)
}

// since is the walk's frontier: where the next page starts.
func (w *historyWalk) since() time.Time {
	if w.status.ReachedTime == nil {
		return time.Time{}
	}
	return w.status.ReachedTime.Time
}

// visited says the walk has passed p: it was last updated before the
// frontier, or at the frontier and visited there.
func (w *historyWalk) visited(p gitlab.Pipeline) bool {
	reached := w.since()
	if w.status.ReachedTime == nil || p.UpdatedAt.After(reached) {
		return false
	}
	return p.UpdatedAt.Before(reached) || slices.Contains(w.status.ReachedPipelineIDs, p.ID)
}

// pass moves the frontier over a visited pipeline.
func (w *historyWalk) pass(p gitlab.Pipeline) {
	w.status.PipelinesVisited++
	if w.status.ReachedTime != nil && p.UpdatedAt.Equal(w.since()) {
		if len(w.status.ReachedPipelineIDs) < maxReachedIDs {
			w.status.ReachedPipelineIDs = append(w.status.ReachedPipelineIDs, p.ID)
		}
		return
	}
	w.status.ReachedTime = &metav1.MicroTime{Time: p.UpdatedAt}
	w.status.ReachedPipelineIDs = []int64{p.ID}
}

// stepPastTies moves the frontier a millisecond (the precision of GitLab's
// timestamps) when a whole page holds pipelines visited at the frontier's
// instant: more than a page updated in the same millisecond, the page GitLab
// gives (in no defined order among equals) could be the same one for ever.
// Any of them left unvisited is passed by.
func (w *historyWalk) stepPastTies() {
	next := w.since().Add(time.Millisecond)
	w.status.ReachedTime = &metav1.MicroTime{Time: next}
	w.status.ReachedPipelineIDs = nil
}

// waitUntil says the backlog is done for now: the next step is due at at,
// or at the next sync when at is zero (the guard held a job back).
func (w *historyWalk) waitUntil(at time.Time) {
	if at.IsZero() {
		w.behind()
		return
	}
	w.status.CaughtUp = true
	// Status keeps whole seconds: round up, so the step is not due early.
	if t := at.Truncate(time.Second); t.Before(at) {
		at = t.Add(time.Second)
	}
	w.status.NextTime = &metav1.Time{Time: at}
}

// behind says the walk goes on at the next sync.
func (w *historyWalk) behind() {
	w.status.CaughtUp = false
	w.status.NextTime = nil
}

// nextStep is the earliest moment a walk is due, if any waits.
func (s *syncer) nextStep() time.Time {
	var next time.Time
	for _, w := range s.walks {
		if t := w.status.NextTime; t != nil && (next.IsZero() || t.Before(&metav1.Time{Time: next})) {
			next = t.Time
		}
	}
	return next
}

// walkStatuses are the walks as status records them.
func (s *syncer) walkStatuses() []civ1alpha1.HistoryWalk {
	if len(s.walks) == 0 {
		return nil
	}
	out := make([]civ1alpha1.HistoryWalk, 0, len(s.walks))
	for _, w := range s.walks {
		out = append(out, w.status)
	}
	return out
}
