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

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// The GitLab side of an action, shared by JobAction and JobWatch: the one
// mutating call, the job that results from it, and the question asked before
// ever repeating it. docs/gitlab-api.md says what each relies on.

// perform makes the one mutating call of action on jobID. internal/gitlab
// never resends it: a lost answer comes back as a Transient error, and the
// caller must ask happened before calling again.
func perform(ctx context.Context, gl gitlab.Client, project string, action civ1alpha1.ActionType,
	jobID int64, vars []gitlab.Variable, force bool) (*gitlab.Job, error) {
	switch action {
	case civ1alpha1.ActionRetry:
		return gl.RetryJob(ctx, project, jobID)
	case civ1alpha1.ActionPlay:
		return gl.PlayJob(ctx, project, jobID, vars)
	case civ1alpha1.ActionCancel:
		return gl.CancelJob(ctx, project, jobID, force)
	case civ1alpha1.ActionErase:
		return gl.EraseJob(ctx, project, jobID)
	}
	return nil, fmt.Errorf("unknown action %q", action)
}

// playedAsRerun says a Play of a job in this status makes a new attempt: a
// manual job that has already run is re-run, and GitLab answers with the job
// it was asked to play, unchanged.
func playedAsRerun(status string) bool {
	return slices.Contains(finishedStatuses, status)
}

// resultOf is the job an accepted action resulted in, given GitLab's answer:
// the answer itself, except for a Play that re-ran a finished manual job,
// whose new attempt is found as a retry's is.
func resultOf(ctx context.Context, gl gitlab.Client, project string, action civ1alpha1.ActionType,
	target *civ1alpha1.JobSummary, answer *gitlab.Job) (*gitlab.Job, error) {
	if action != civ1alpha1.ActionPlay || (!playedAsRerun(target.Status) && !playedAsRerun(answer.Status)) {
		return answer, nil
	}
	next, err := newerAttempt(ctx, gl, project, answer)
	if err != nil || next == nil {
		return answer, err
	}
	return next, nil
}

// happened asks GitLab whether action on target took effect, and returns the
// resulting job if so. target.Status is what the job was when the action was
// claimed. A retried job, or a played job that had already run, has a newer
// attempt of the same name in its pipeline; a played manual job is no longer
// manual; a canceled job is canceling or canceled; an erased job has
// erased_at.
func happened(ctx context.Context, gl gitlab.Client, project string, action civ1alpha1.ActionType,
	target *civ1alpha1.JobSummary) (*gitlab.Job, error) {
	job, err := currentJob(ctx, gl, project, target)
	if err != nil {
		return nil, err
	}
	switch action {
	case civ1alpha1.ActionRetry:
		return newerAttempt(ctx, gl, project, job)
	case civ1alpha1.ActionPlay:
		if job.Status == "manual" || job.Status == "scheduled" {
			return nil, nil
		}
		if playedAsRerun(target.Status) {
			// Only a new attempt proves a re-run: the job itself was not
			// manual while this action waited.
			return newerAttempt(ctx, gl, project, job)
		}
		if target.Status == "" && playedAsRerun(job.Status) {
			// Unknown before: a new attempt says it was re-run; without
			// one, it ran from manual.
			if next, err := newerAttempt(ctx, gl, project, job); err != nil || next != nil {
				return next, err
			}
		}
		return job, nil
	case civ1alpha1.ActionCancel:
		if job.Status == "canceling" || job.Status == "canceled" {
			return job, nil
		}
	case civ1alpha1.ActionErase:
		if job.ErasedAt != nil {
			return job, nil
		}
	}
	return nil, nil
}

// newerAttempt returns the first attempt of job's name made after job in its
// pipeline (include_retried shows older attempts), or nil.
func newerAttempt(ctx context.Context, gl gitlab.Client, project string, job *gitlab.Job) (*gitlab.Job, error) {
	var attempts []gitlab.Job
	var err error
	if job.Bridge {
		attempts, err = gl.ListPipelineBridges(ctx, project, job.PipelineID)
	} else {
		attempts, err = gl.ListPipelineJobs(ctx, project, job.PipelineID, true)
	}
	if err != nil {
		return nil, err
	}
	var next *gitlab.Job
	for i := range attempts {
		if at := &attempts[i]; at.Name == job.Name && at.ID > job.ID && (next == nil || at.ID < next.ID) {
			next = at
		}
	}
	return next, nil
}

// currentJob reads a job as GitLab has it now. A trigger job is not served by
// GET /jobs/:id; it is found in its pipeline's bridges.
func currentJob(ctx context.Context, gl gitlab.Client, project string, s *civ1alpha1.JobSummary) (*gitlab.Job, error) {
	if !s.Bridge {
		return gl.GetJob(ctx, project, s.ID)
	}
	bridges, err := gl.ListPipelineBridges(ctx, project, s.PipelineID)
	if err != nil {
		return nil, err
	}
	for i := range bridges {
		if bridges[i].ID == s.ID {
			return &bridges[i], nil
		}
	}
	return nil, &gitlab.Error{Class: gitlab.NotFound, StatusCode: 404, Message: "404 Not found"}
}

// finishedStatuses are the statuses a job leaves only by being retried (which
// makes a new job).
var finishedStatuses = []string{"success", "failed", "canceled", "skipped"}
