package gitlabsim

import (
	"slices"
	"time"
)

// What happens to a job after it exists: status changes, retries, erasure,
// its token. The caller holds the store's write lock.

func (st *store) issueToken(j *job) {
	if j.token != "" {
		delete(st.jobByToken, j.token)
	}
	j.token = randomToken("glcbt-")
	st.jobByToken[j.token] = j
}

// setStatus moves a job to a status, keeping timestamps, the indexes, the
// pipeline counts, the token and the active set consistent. It is the only
// place a job's status changes after creation.
func (st *store) setStatus(j *job, to, reason string, now time.Time) {
	from := j.status
	defer j.pipeline.touchIfStatusChanged(j.pipeline.status(), now)
	if !j.retried {
		j.pipeline.counts[bucketOf(from, j.allowFailure)]--
		j.pipeline.counts[bucketOf(to, j.allowFailure)]++
	}
	if j.isBuild() {
		j.project.idx.move(j.id, from, to)
	}
	j.status = to
	j.reason = ""
	if to == StatusFailed {
		j.reason = reason
		if j.reason == "" {
			j.reason = ReasonUnknownFailure
		}
	}
	j.cancelGen++
	st.touch(j.pipeline)
	switch {
	case to == StatusRunning || to == StatusCanceling:
		if !tokenActive(from) { // a new run: fresh start time, log cursor and token
			j.startedAt = now
			j.finishedAt = time.Time{}
			j.logLines = 0
			j.lastLogAt = now
			if j.isBuild() { // bridges have no runner, hence no token
				st.issueToken(j)
			}
		}
		if j.queuedAt.IsZero() {
			j.queuedAt = j.startedAt
		}
	case isFinished(to):
		if to != StatusSkipped {
			j.finishedAt = now
		}
		if j.producesArtifacts && j.erasedAt.IsZero() && (to == StatusSuccess || to == StatusFailed) {
			j.hasArtifacts = true
			j.artifactsExpireAt = now.Add(30 * 24 * time.Hour)
		}
	default: // back to a waiting status: a new run starts from scratch
		j.startedAt, j.finishedAt = time.Time{}, time.Time{}
		if to == StatusPending || to == StatusWaitingForResource || to == StatusPreparing {
			j.queuedAt = now
		} else {
			j.queuedAt = time.Time{}
		}
	}
	if to == StatusPending || to == StatusRunning {
		st.active[j.id] = j
	} else {
		delete(st.active, j.id)
	}
	if from != to {
		st.jobChanged(j)
	}
	st.pipelineChanged(j.pipeline)
}

// retry creates the next attempt of j, as Ci::RetryJobService does: same
// name, stage, ref, tags and job variables (Ci::Build clones them), status
// pending, user the caller; j is marked retried and leaves the pipeline's
// latest jobs.
func (st *store) retry(j *job, by *user, now time.Time) *job {
	n := &job{
		id: st.nextJob, kind: j.kind, project: j.project, pipeline: j.pipeline,
		name: j.name, stage: j.stage, stageIdx: j.stageIdx, status: StatusPending, when: j.when,
		tagList: j.tagList, allowFailure: j.allowFailure, user: by,
		createdAt: now, queuedAt: now, producesArtifacts: j.producesArtifacts,
		retryOf: j.id, stuck: j.stuck, flakiness: j.flakiness, flakyOutcome: j.flakyOutcome,
		environment: j.environment, environmentTier: j.environmentTier,
		downstreamProjectID: j.downstreamProjectID, variables: slices.Clone(j.variables), needs: j.needs,
	}
	st.nextJob++
	defer j.pipeline.touchIfStatusChanged(j.pipeline.status(), now)
	j.pipeline.counts[bucketOf(j.status, j.allowFailure)]--
	j.retried = true
	st.attach(n)
	st.resetSkippedAfter(n, now)
	return n
}

// touchIfStatusChanged sets the pipeline's updated_at when its status is no
// longer before. GitLab writes a pipeline row when its status changes
// (Ci::Pipeline#set_status fires a state machine event, which does nothing
// for the status the pipeline already has), not when one of its jobs changes
// while the pipeline's composite status stays the same; erasing a job does
// not touch its pipeline either.
func (pl *pipeline) touchIfStatusChanged(before string, now time.Time) {
	if pl.status() != before {
		pl.updatedAt = now
	}
}

func (st *store) erase(j *job, now time.Time) {
	j.erasedAt = now
	j.trace = nil
	j.hasArtifacts = false
	j.artifactsExpireAt = time.Time{}
}

func (st *store) snapshotJob(j *job) Job {
	out := Job{
		ID: j.id, ProjectID: j.project.id, PipelineID: j.pipeline.id, Kind: "build",
		Name: j.name, Stage: j.stage, Status: j.status, FailureReason: j.reason, When: j.when,
		Ref: j.pipeline.ref, AllowFailure: j.allowFailure, Retried: j.retried, RetryOf: j.retryOf,
		Variables: append([]Variable(nil), j.variables...), TraceSize: len(j.trace),
		HasArtifacts: j.hasArtifacts, TokenActive: j.token != "" && tokenActive(j.status),
		CreatedAt: j.createdAt, QueuedAt: optTime(j.queuedAt), StartedAt: optTime(j.startedAt),
		FinishedAt: optTime(j.finishedAt), ErasedAt: optTime(j.erasedAt),
	}
	if !j.isBuild() {
		out.Kind = "bridge"
	}
	if j.user != nil {
		out.Username = j.user.username
	}
	if j.downstream != nil {
		out.DownstreamPipelineID = j.downstream.id
	}
	return out
}
