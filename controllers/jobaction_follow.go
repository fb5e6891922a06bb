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
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// This file is what a JobAction does once GitLab has answered: record the
// answer, follow the resulting job, and end Complete or Failed.

// accepted records GitLab's answer to the call (or, after a lost response,
// the job GitLab shows the action made): answer is the job GitLab answered
// with, result the job that resulted (a retry's new job, a re-run's new
// attempt). Cancel and Erase, and any action whose result is not followed,
// complete here.
func (p *jobActionPass) accepted(answer, result *gitlab.Job) {
	st := &p.ja.Status
	st.ActionTime = &metav1.Time{Time: p.now}
	st.ResultJob = jobSummary(result)
	switch {
	case st.TargetJob == nil:
		st.TargetJob = jobSummary(answer)
	case st.TargetJob.ID == answer.ID:
		st.TargetJob = jobSummary(answer)
	case st.TargetJob.Name == "":
		// A retry by job id answers with the new job; the old one shares
		// its name, stage, ref and pipeline.
		id := st.TargetJob.ID
		st.TargetJob = jobSummary(answer)
		st.TargetJob.ID, st.TargetJob.Status, st.TargetJob.WebURL, st.TargetJob.StartedAt, st.TargetJob.FinishedAt = id, "", "", nil, nil
	}
	if !p.follows() {
		p.complete(civ1alpha1.ReasonSucceeded, "GitLab accepted the "+p.outcomeOf(st.TargetJob, result))
		return
	}
	if !p.completeIfFinished(result) {
		p.report.event(corev1.EventTypeNormal, "Action"+string(p.ja.Spec.Action), string(p.ja.Spec.Action),
			fmt.Sprintf("%s of job %d accepted by GitLab; resulting job %d", p.ja.Spec.Action, st.TargetJob.ID, result.ID), nil)
	}
}

// outcomeOf says in words what the action did to target, result being the
// job it resulted in: "retry of job 73: job 77, now pending".
func (p *jobActionPass) outcomeOf(target *civ1alpha1.JobSummary, result *gitlab.Job) string {
	if result.ID != target.ID {
		return fmt.Sprintf("%s of job %d: job %d, now %s", p.verb(), target.ID, result.ID, result.Status)
	}
	return fmt.Sprintf("%s of job %d: it is now %s", p.verb(), target.ID, result.Status)
}

// follow polls the resulting job until it finishes.
func (p *jobActionPass) follow(ctx context.Context) (ctrl.Result, error) {
	if !p.follows() {
		// Only a followed result is polled; any other completed when GitLab
		// answered (this pass started from an older copy).
		return ctrl.Result{}, nil
	}
	result := p.ja.Status.ResultJob
	job, err := currentJob(ctx, p.gl, p.project(), result)
	if err != nil {
		return ctrl.Result{}, gitlabFailure(err, p.describe(result.ID))
	}
	p.ja.Status.ResultJob = jobSummary(job)
	if p.completeIfFinished(job) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollDelay(p.now.Sub(p.ja.Status.ActionTime.Time))}, nil
}

// completeIfFinished ends the JobAction if the followed job has finished.
func (p *jobActionPass) completeIfFinished(job *gitlab.Job) bool {
	switch job.Status {
	case "success":
		p.complete(civ1alpha1.ReasonJobSucceeded, fmt.Sprintf("Job %d succeeded", job.ID))
	case "failed", "canceled", "skipped":
		msg := fmt.Sprintf("Job %d %s", job.ID, job.Status)
		if job.FailureReason != "" {
			msg += ": " + job.FailureReason
		}
		p.fail(civ1alpha1.ReasonJobFailed, msg)
	default:
		return false
	}
	return true
}

// complete ends the JobAction as intended, with a Normal event.
func (p *jobActionPass) complete(reason, message string) {
	p.terminate(civ1alpha1.ConditionComplete, civ1alpha1.ConditionFailed, reason, message, corev1.EventTypeNormal)
	actionsTotal.WithLabelValues(string(p.ja.Spec.Action), "complete").Inc()
}

// fail ends the JobAction for good, with a Warning event.
func (p *jobActionPass) fail(reason, message string) {
	p.terminate(civ1alpha1.ConditionFailed, civ1alpha1.ConditionComplete, reason, message, corev1.EventTypeWarning)
	actionsTotal.WithLabelValues(string(p.ja.Spec.Action), "failed").Inc()
}

// terminate sets the terminal condition t (and other False), announces it
// and records the completion time.
func (p *jobActionPass) terminate(t, other, reason, message, eventType string) {
	p.report.announce(t, metav1.ConditionTrue, reason, message, eventType, string(p.ja.Spec.Action))
	p.report.set(other, metav1.ConditionFalse, reason, message)
	p.ja.Status.CompletionTime = &metav1.Time{Time: p.now}
}

// progressReasons are the steps of a JobAction that is working as it
// should: no event announces them.
var progressReasons = []string{civ1alpha1.ReasonResolving, civ1alpha1.ReasonActionPending, civ1alpha1.ReasonWaitingForResult}

// summarize sets the conditions from where the pass stopped: a stalled
// problem fails the JobAction; any other keeps it Progressing, with the
// reason it waits for, announced with a Warning when it is a problem.
func (p *jobActionPass) summarize(ctx context.Context, err error) {
	st := &p.ja.Status
	st.ObservedGeneration = p.ja.Generation
	re := asReconcileError(err)
	if re != nil && re.kind == stalledKind && !finished(p.ja) {
		logf.FromContext(ctx).Info("JobAction failed", "reason", re.Reason, "message", re.Message)
		p.fail(re.Reason, re.Message)
	}
	if finished(p.ja) {
		for _, t := range []string{civ1alpha1.ConditionComplete, civ1alpha1.ConditionFailed} {
			if c := meta.FindStatusCondition(st.Conditions, t); c != nil && c.Status == metav1.ConditionTrue {
				p.report.set(civ1alpha1.ConditionProgressing, metav1.ConditionFalse, c.Reason, c.Message)
			}
		}
		return
	}
	reason, message := civ1alpha1.ReasonResolving, "Finding the target job"
	switch {
	case re != nil:
		reason, message = re.Reason, re.Message
	case st.ActionTime != nil:
		reason, message = civ1alpha1.ReasonWaitingForResult, fmt.Sprintf("Waiting for job %d to finish", st.ResultJob.ID)
	case st.IntentTime != nil:
		reason, message = civ1alpha1.ReasonActionPending, "Checking with GitLab whether the action happened"
	}
	if slices.Contains(progressReasons, reason) {
		p.report.set(civ1alpha1.ConditionProgressing, metav1.ConditionTrue, reason, message)
		return
	}
	p.report.announce(civ1alpha1.ConditionProgressing, metav1.ConditionTrue, reason, message, corev1.EventTypeWarning, string(p.ja.Spec.Action))
}

// follows says whether the JobAction waits for the resulting job to finish.
func (p *jobActionPass) follows() bool {
	switch p.ja.Spec.Action {
	case civ1alpha1.ActionCancel, civ1alpha1.ActionErase:
		return false
	}
	return p.ja.Spec.FollowResult == nil || *p.ja.Spec.FollowResult
}

func (p *jobActionPass) verb() string {
	return map[civ1alpha1.ActionType]string{civ1alpha1.ActionRetry: "retry", civ1alpha1.ActionPlay: "play",
		civ1alpha1.ActionCancel: "cancel", civ1alpha1.ActionErase: "erase"}[p.ja.Spec.Action]
}

// pollDelay grows with the time a job has been running: quick answers for short
// jobs, few requests for long ones.
func pollDelay(elapsed time.Duration) time.Duration {
	return min(max(elapsed/5, 2*time.Second), time.Minute)
}

// jobSummary turns a GitLab job into its status summary.
func jobSummary(job *gitlab.Job) *civ1alpha1.JobSummary {
	s := &civ1alpha1.JobSummary{
		ID: job.ID, Name: truncate(job.Name, 255), Stage: truncate(job.Stage, 255), Ref: truncate(job.Ref, 255),
		Status: job.Status, FailureReason: truncate(job.FailureReason, 64), PipelineID: job.PipelineID,
		WebURL: truncate(job.WebURL, 2048), Bridge: job.Bridge,
	}
	if job.StartedAt != nil {
		s.StartedAt = &metav1.Time{Time: *job.StartedAt}
	}
	if job.FinishedAt != nil {
		s.FinishedAt = &metav1.Time{Time: *job.FinishedAt}
	}
	return s
}
