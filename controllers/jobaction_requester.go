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
	"slices"
	"strconv"
	"strings"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// checkRequester proves who asks with the CI job's own token, just before a
// call: the job must be running, in the target's project, and (when the
// connection names an agent) allowed to use this cluster's agent.
// targetProject is the target's numeric project id, 0 when not known yet.
func (p *jobActionPass) checkRequester(ctx context.Context, targetID, targetProject int64) error {
	ref := p.ja.Spec.Requester.JobTokenSecretRef
	token, err := p.secrets.value(ctx, p.ja.Namespace, ref.Name, keyOr(ref.Key, "token"))
	if err != nil {
		return err
	}
	jc, err := p.gitlab.JobTokenClient(p.conn.config, strings.TrimSpace(token))
	if err != nil {
		return gitlabFailure(err, "the requester's job token")
	}
	who, err := jc.CurrentJob(ctx)
	if err != nil {
		if c := gitlab.ClassOf(err); c == gitlab.Unauthorized || c == gitlab.JobNotFoundForToken {
			return stalled(civ1alpha1.ReasonRequesterNotRunning,
				"GitLab refused the requester's job token: it is not the token of a running CI job")
		}
		return gitlabFailure(err, "the requester's job")
	}
	p.ja.Status.Requester = &civ1alpha1.RequesterStatus{JobID: who.JobID, PipelineID: who.PipelineID,
		ProjectID: who.ProjectID, Username: truncate(who.Username, 255)}
	if who.JobStatus != "" && who.JobStatus != "running" {
		return stalled(civ1alpha1.ReasonRequesterNotRunning, "the requesting job %d is %s, not running", who.JobID, who.JobStatus)
	}
	project := max(targetProject, numericProject(p.project()))
	if project == 0 {
		full, err := p.gl.GetJob(ctx, p.project(), targetID)
		if err != nil {
			return gitlabFailure(err, p.describe(targetID))
		}
		project = full.ProjectID
	}
	if project != who.ProjectID {
		return stalled(civ1alpha1.ReasonRequesterOtherProject,
			"the requesting job %d is in project %d, the target in project %d: a job may only ask for actions in its own project",
			who.JobID, who.ProjectID, project)
	}
	agent := p.conn.obj.Spec.AgentID
	if agent == 0 {
		return nil
	}
	allowed, err := jc.AllowedAgents(ctx)
	if err != nil {
		return gitlabFailure(err, "the requester's allowed agents")
	}
	if !slices.Contains(allowed.AgentIDs, agent) {
		return stalled(civ1alpha1.ReasonAgentNotAllowed, "the requesting job %d may not use agent %d (GitLab allows %v)",
			who.JobID, agent, allowed.AgentIDs)
	}
	return nil
}

// numericProject returns a project reference as a number, or 0 for a path.
func numericProject(project string) int64 {
	id, _ := strconv.ParseInt(project, 10, 64)
	return id
}
