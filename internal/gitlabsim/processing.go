package gitlabsim

import (
	"slices"
	"time"
)

// Pipeline processing: what GitLab's Ci::PipelineProcessing::
// AtomicProcessingService and Ci::ProcessBuildService do after a job's
// status changes. A job waiting in created is looked at once the jobs it
// depends on are complete: the jobs of the earlier stages, or, for a job
// with needs, the jobs it needs. Then its when decides: it is enqueued
// (pending), made manual, scheduled, or skipped. The lifecycle engine runs
// this for the pipelines whose jobs changed; without the engine nothing
// leaves created on its own. The caller holds the store's write lock.

// touch marks a pipeline for processing, when an engine will process it.
func (st *store) touch(pl *pipeline) {
	if st.processing {
		st.dirty[pl] = true
	}
}

// processDirty processes every touched pipeline, in id order so a run is
// reproducible.
func (st *store) processDirty(now time.Time) {
	if len(st.dirty) == 0 {
		return
	}
	pls := make([]*pipeline, 0, len(st.dirty))
	for pl := range st.dirty {
		pls = append(pls, pl)
	}
	clear(st.dirty)
	slices.SortFunc(pls, func(a, b *pipeline) int { return int(a.id - b.id) })
	for _, pl := range pls {
		if pl.counts[StatusCreated] > 0 { // only created jobs wait to be processed
			st.process(pl, now)
		}
	}
	// Processing changed statuses, which touched the pipelines again; one
	// pass has already followed every consequence.
	clear(st.dirty)
}

// process moves the pipeline's created jobs whose turn has come, stage by
// stage, until nothing more changes (a job enqueued or skipped can decide
// the fate of one that needs it).
func (st *store) process(pl *pipeline, now time.Time) {
	for changed := true; changed; {
		changed = false
		for idx := range pl.stages {
			pl.latest(func(j *job) {
				if j.stageIdx != idx || j.status != StatusCreated {
					return
				}
				prev := st.statusBefore(pl, j)
				if !isFinished(prev) { // success, failed, canceled or skipped
					return
				}
				st.processJob(j, prev, now)
				changed = true
			})
		}
	}
}

// statusBefore is the composite status of what j waits for: the jobs it
// needs (with needs), or all jobs of the earlier stages. Nothing to wait for
// counts as success.
func (st *store) statusBefore(pl *pipeline, j *job) string {
	c := statusCounts{}
	if j.needs != nil {
		pl.latest(func(o *job) {
			if slices.Contains(j.needs, o.name) {
				c[bucketOf(o.status, o.allowFailure)]++
			}
		})
		if c.total() == 0 {
			return StatusSuccess
		}
		return c.dagComposite()
	}
	pl.latest(func(o *job) {
		if o.stageIdx < j.stageIdx {
			c[bucketOf(o.status, o.allowFailure)]++
		}
	})
	if c.total() == 0 {
		return StatusSuccess
	}
	return c.composite()
}

// dagComposite is Gitlab::Ci::Status::Composite with dag: a needed job that
// was skipped or is ignored (an optional manual job not played) skips the
// job; a needed job that has not completed holds it.
func (c statusCounts) dagComposite() string {
	if c.anyOf(StatusSkipped, bucketIgnored) {
		return StatusSkipped
	}
	if !c.onlyOf(StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped, bucketWarning) {
		return StatusPending
	}
	return c.composite()
}

// processJob is Ci::ProcessBuildService: whether j runs after prev depends
// on its when.
func (st *store) processJob(j *job, prev string, now time.Time) {
	var valid []string
	switch j.when {
	case "on_success", "manual", "delayed":
		valid = []string{StatusSuccess, StatusSkipped}
		if j.needs != nil {
			valid = []string{StatusSuccess}
		}
	case "on_failure":
		valid = []string{StatusFailed}
	case "always":
		valid = []string{StatusSuccess, StatusFailed, StatusSkipped}
	}
	switch {
	case !slices.Contains(valid, prev):
		st.setStatus(j, StatusSkipped, "", now)
	case j.when == "delayed":
		st.setStatus(j, StatusScheduled, "", now)
	case j.when == "manual":
		st.setStatus(j, StatusManual, "", now)
	default:
		st.setStatus(j, StatusPending, "", now)
	}
}

// resetSkippedAfter is Ci::ResetSkippedJobsService, run when j is retried
// or played: the skipped jobs of later stages, and those that need j
// (directly or through others), go back to created, to be processed again
// once j has run.
func (st *store) resetSkippedAfter(j *job, now time.Time) {
	pl := j.pipeline
	dependents := map[string]bool{j.name: true}
	for grew := true; grew; {
		grew = false
		pl.latest(func(o *job) {
			if dependents[o.name] {
				return
			}
			for _, n := range o.needs {
				if dependents[n] {
					dependents[o.name], grew = true, true
					return
				}
			}
		})
	}
	pl.latest(func(o *job) {
		if o != j && o.status == StatusSkipped && (o.stageIdx > j.stageIdx || dependents[o.name]) {
			st.setStatus(o, StatusCreated, "", now)
		}
	})
}
