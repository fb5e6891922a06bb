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
	"strings"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// maxRefScan bounds the search for the newest job of a name on a ref: the
// project's jobs are read newest first and the search gives up after this many.
const maxRefScan = 1000

// resolveTarget finds the job to act on. A jobID target costs no request: the
// action's own answer describes the job.
func (a *actor) resolveTarget(ctx context.Context) (*gitlab.Job, error) {
	spec := a.ja.Spec
	switch {
	case spec.JobID != 0:
		return &gitlab.Job{ID: spec.JobID}, nil
	case spec.PipelineID != 0:
		jobs, err := a.gl.ListPipelineJobs(ctx, spec.Project.String(), spec.PipelineID, false)
		if err != nil {
			return nil, gitlabFailure(err, fmt.Sprintf("pipeline %d of project %s", spec.PipelineID, spec.Project.String()))
		}
		if job := newestNamed(jobs, spec.JobName); job != nil {
			return job, nil
		}
		bridges, err := a.gl.ListPipelineBridges(ctx, spec.Project.String(), spec.PipelineID)
		if err != nil {
			return nil, gitlabFailure(err, fmt.Sprintf("pipeline %d of project %s", spec.PipelineID, spec.Project.String()))
		}
		if job := newestNamed(bridges, spec.JobName); job != nil {
			return job, nil
		}
		return nil, &stepError{Reason: civ1alpha1.ReasonJobNotFound, Terminal: true,
			Message: fmt.Sprintf("pipeline %d of project %s has no job or trigger job named %q", spec.PipelineID, spec.Project.String(), spec.JobName)}
	default:
		var found *gitlab.Job
		scanned := 0
		err := a.gl.ListProjectJobs(ctx, spec.Project.String(), nil, func(job gitlab.Job) bool {
			scanned++
			if job.Name == spec.JobName && job.Ref == spec.Ref {
				found = &job
			}
			return found == nil && scanned < maxRefScan
		})
		if err != nil {
			return nil, gitlabFailure(err, "the jobs of project "+spec.Project.String())
		}
		if found == nil {
			return nil, &stepError{Reason: civ1alpha1.ReasonJobNotFound, Terminal: true,
				Message: fmt.Sprintf("no job named %q on ref %q among the newest %d jobs of project %s", spec.JobName, spec.Ref, scanned, spec.Project.String())}
		}
		return found, nil
	}
}

// variables resolves the Play variables of the JobAction.
func (a *actor) variables(ctx context.Context) ([]gitlab.Variable, error) {
	if a.ja.Spec.Action != civ1alpha1.ActionPlay {
		return nil, nil
	}
	return a.variableValues(ctx, a.ja.Namespace, a.ja.Spec.Variables)
}

// checkRequester proves who asks with the CI job's own token: the job must be
// running, in the target's project, and (when the connection names an agent)
// allowed to use this cluster's agent. It returns the target with its project
// known.
func (a *actor) checkRequester(ctx context.Context, target *gitlab.Job) (*gitlab.Job, error) {
	ref := a.ja.Spec.Requester.JobTokenSecretRef
	token, err := a.secretValue(ctx, a.ja.Namespace, ref.Name, keyOr(ref.Key, "token"))
	if err != nil {
		return nil, err
	}
	jc, err := a.clients.JobTokenClient(a.conn.config, strings.TrimSpace(token))
	if err != nil {
		return nil, gitlabFailure(err, "the requester's job token")
	}
	who, err := jc.CurrentJob(ctx)
	if err != nil {
		if c := gitlab.ClassOf(err); c == gitlab.Unauthorized || c == gitlab.JobNotFoundForToken {
			return nil, &stepError{Reason: civ1alpha1.ReasonRequesterNotRunning, Terminal: true,
				Message: "GitLab refused the requester's job token: it is not the token of a running CI job"}
		}
		return nil, gitlabFailure(err, "the requester's job")
	}
	a.ja.Status.Requester = &civ1alpha1.RequesterStatus{JobID: who.JobID, PipelineID: who.PipelineID,
		ProjectID: who.ProjectID, Username: truncate(who.Username, 255)}
	if who.JobStatus != "" && who.JobStatus != "running" {
		return nil, &stepError{Reason: civ1alpha1.ReasonRequesterNotRunning, Terminal: true,
			Message: fmt.Sprintf("the requesting job %d is %s, not running", who.JobID, who.JobStatus)}
	}
	if target.ProjectID == 0 && numericProject(a.ja.Spec.Project.String()) == 0 {
		full, err := a.gl.GetJob(ctx, a.ja.Spec.Project.String(), target.ID)
		if err != nil {
			return nil, gitlabFailure(err, a.describe(target.ID))
		}
		target = full
	}
	project := max(target.ProjectID, numericProject(a.ja.Spec.Project.String()))
	if project != who.ProjectID {
		return nil, &stepError{Reason: civ1alpha1.ReasonRequesterOtherProject, Terminal: true,
			Message: fmt.Sprintf("the requesting job %d is in project %d, the target in project %d: a job may only ask for actions in its own project", who.JobID, who.ProjectID, project)}
	}
	agent := a.conn.obj.Spec.AgentID
	if agent == 0 {
		return target, nil
	}
	allowed, err := jc.AllowedAgents(ctx)
	if err != nil {
		return nil, gitlabFailure(err, "the requester's allowed agents")
	}
	if !slices.Contains(allowed.AgentIDs, agent) {
		return nil, &stepError{Reason: civ1alpha1.ReasonAgentNotAllowed, Terminal: true,
			Message: fmt.Sprintf("the requesting job %d may not use agent %d (GitLab allows %v)", who.JobID, agent, allowed.AgentIDs)}
	}
	return target, nil
}
