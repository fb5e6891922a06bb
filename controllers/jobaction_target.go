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

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// maxRefScan bounds the search for the newest job of a name on a ref: the
// project's jobs are read newest first and the search gives up after this many.
const maxRefScan = 1000

// resolveTarget finds the job to act on. A jobID target costs no request (the
// action's own answer describes the job) except for Play, which must know
// whether the job is waiting as manual or has already run: a Play of a job
// that has run makes a new attempt, and only that tells, after a lost answer,
// whether the play happened.
func (p *jobActionPass) resolveTarget(ctx context.Context) (*gitlab.Job, error) {
	spec := p.ja.Spec
	project := p.project()
	switch {
	case spec.JobID != 0 && spec.Action == civ1alpha1.ActionPlay:
		job, err := p.gl.GetJob(ctx, project, spec.JobID)
		if gitlab.ClassOf(err) == gitlab.NotFound {
			// A trigger job is not served here; GitLab's play finds it.
			return &gitlab.Job{ID: spec.JobID}, nil
		}
		if err != nil {
			return nil, gitlabFailure(err, p.describe(spec.JobID))
		}
		return job, nil
	case spec.JobID != 0:
		return &gitlab.Job{ID: spec.JobID}, nil
	case spec.PipelineID != 0:
		what := fmt.Sprintf("pipeline %d of project %s", spec.PipelineID, project)
		jobs, err := p.gl.ListPipelineJobs(ctx, project, spec.PipelineID, false)
		if err != nil {
			return nil, gitlabFailure(err, what)
		}
		if job := newestNamed(jobs, spec.JobName); job != nil {
			return job, nil
		}
		bridges, err := p.gl.ListPipelineBridges(ctx, project, spec.PipelineID)
		if err != nil {
			return nil, gitlabFailure(err, what)
		}
		if job := newestNamed(bridges, spec.JobName); job != nil {
			return job, nil
		}
		return nil, stalled(civ1alpha1.ReasonJobNotFound, "%s has no job or trigger job named %q", what, spec.JobName)
	default:
		var found *gitlab.Job
		scanned := 0
		err := p.gl.ListProjectJobs(ctx, project, nil, func(job gitlab.Job) bool {
			scanned++
			if job.Name == spec.JobName && job.Ref == spec.Ref {
				found = &job
			}
			return found == nil && scanned < maxRefScan
		})
		if err != nil {
			return nil, gitlabFailure(err, "the jobs of project "+project)
		}
		if found == nil {
			return nil, stalled(civ1alpha1.ReasonJobNotFound, "no job named %q on ref %q among the newest %d jobs of project %s",
				spec.JobName, spec.Ref, scanned, project)
		}
		return found, nil
	}
}

// newestNamed returns the job named name with the highest id, or nil.
func newestNamed(jobs []gitlab.Job, name string) *gitlab.Job {
	var newest *gitlab.Job
	for i := range jobs {
		if jobs[i].Name == name && (newest == nil || jobs[i].ID > newest.ID) {
			newest = &jobs[i]
		}
	}
	return newest
}
