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
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// actor carries one pass of one JobAction.
type actor struct {
	*JobActionReconciler
	ja   *civ1alpha1.JobAction
	conn *resolvedConnection
	gl   gitlab.Client
	now  metav1.Time
}

// act resolves the target, checks the requester, records the intent and calls
// GitLab. The intent write must succeed before the call: if it fails (a
// conflict with a newer version), nothing is called.
func (a *actor) act(ctx context.Context, w *statusWriter) error {
	target, err := a.resolveTarget(ctx)
	if err != nil {
		return err
	}
	if a.ja.Spec.Requester != nil {
		if target, err = a.checkRequester(ctx, target); err != nil {
			return err
		}
	}
	vars, err := a.variables(ctx)
	if err != nil {
		return err
	}
	a.ja.Status.TargetJob = summarize(target)
	a.ja.Status.IntentTime = &a.now
	a.setProgressing(civ1alpha1.ReasonActionPending, fmt.Sprintf("Calling GitLab to %s job %d", a.verb(), target.ID))
	if err := w.write(ctx, a.ja, jobActionStatus); err != nil {
		return err
	}
	return a.call(ctx, target.ID, vars)
}

// resume handles an intent without an answer: it asks GitLab whether the action
// happened, adopts it if so, and calls only if not.
func (a *actor) resume(ctx context.Context) error {
	target := a.ja.Status.TargetJob
	done, err := happened(ctx, a.gl, a.ja.Spec.Project.String(), a.ja.Spec.Action, target)
	if err != nil {
		return gitlabFailure(err, a.describe(target.ID))
	}
	if done != nil {
		logf.FromContext(ctx).Info("Adopting an action GitLab already performed", "job", target.ID, "resultJob", done.ID)
		actionsTotal.WithLabelValues(string(a.ja.Spec.Action), "adopted").Inc()
		a.accepted(done)
		return nil
	}
	vars, err := a.variables(ctx)
	if err != nil {
		return err
	}
	return a.call(ctx, target.ID, vars)
}

// call makes the one mutating request. internal/gitlab never resends it: a
// lost answer comes back as a Transient error and the next pass resumes.
func (a *actor) call(ctx context.Context, jobID int64, vars []gitlab.Variable) error {
	job, err := perform(ctx, a.gl, a.ja.Spec.Project.String(), a.ja.Spec.Action, jobID, vars, a.ja.Spec.Force)
	if err != nil {
		return gitlabFailure(err, a.describe(jobID))
	}
	a.accepted(job)
	return nil
}

// accepted records GitLab's answer. Cancel and Erase, and any action whose
// result is not followed, complete here.
func (a *actor) accepted(job *gitlab.Job) {
	st := &a.ja.Status
	st.ActionTime = &a.now
	st.ResultJob = summarize(job)
	if a.ja.Spec.Action == civ1alpha1.ActionRetry && st.TargetJob != nil && st.TargetJob.Name == "" {
		// A retry answers with the new job; the old one shares its name, stage and ref.
		id := st.TargetJob.ID
		st.TargetJob = summarize(job)
		st.TargetJob.ID, st.TargetJob.Status, st.TargetJob.WebURL, st.TargetJob.StartedAt, st.TargetJob.FinishedAt = id, "", "", nil, nil
	} else if a.ja.Spec.Action != civ1alpha1.ActionRetry && st.TargetJob != nil && st.TargetJob.ID == job.ID {
		st.TargetJob = summarize(job)
	}
	if !a.follows() {
		msg := fmt.Sprintf("GitLab accepted the %s of job %d; it is now %s", a.ja.Spec.Action, job.ID, job.Status)
		if a.ja.Spec.Action == civ1alpha1.ActionRetry {
			msg = fmt.Sprintf("GitLab retried job %d as job %d, now %s", st.TargetJob.ID, job.ID, job.Status)
		}
		a.finish(civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded, msg)
		return
	}
	a.settle(job)
}

// follow polls the resulting job until it finishes.
func (a *actor) follow(ctx context.Context) (ctrl.Result, error) {
	result := a.ja.Status.ResultJob
	if !a.follows() {
		// Only a followed result is polled; any other completed when GitLab
		// answered (this pass started from an older copy).
		return ctrl.Result{}, nil
	}
	job, err := currentJob(ctx, a.gl, a.ja.Spec.Project.String(), result)
	if err != nil {
		return ctrl.Result{}, gitlabFailure(err, a.describe(result.ID))
	}
	a.ja.Status.ResultJob = summarize(job)
	if a.settle(job) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollDelay(a.now.Sub(a.ja.Status.ActionTime.Time))}, nil
}

// settle completes the JobAction if the followed job has finished.
func (a *actor) settle(job *gitlab.Job) bool {
	switch job.Status {
	case "success":
		a.finish(civ1alpha1.ConditionComplete, civ1alpha1.ReasonJobSucceeded, fmt.Sprintf("Job %d succeeded", job.ID))
	case "failed", "canceled", "skipped":
		msg := fmt.Sprintf("Job %d %s", job.ID, job.Status)
		if job.FailureReason != "" {
			msg += ": " + job.FailureReason
		}
		a.finish(civ1alpha1.ConditionFailed, civ1alpha1.ReasonJobFailed, msg)
	default:
		return false
	}
	return true
}

// finish sets the terminal condition t (Complete or Failed) and the other False.
func (a *actor) finish(t, reason, message string) {
	other := civ1alpha1.ConditionFailed
	if t == civ1alpha1.ConditionFailed {
		other = civ1alpha1.ConditionComplete
	}
	gen := a.ja.Generation
	setCondition(&a.ja.Status.Conditions, gen, t, metav1.ConditionTrue, reason, message)
	setCondition(&a.ja.Status.Conditions, gen, other, metav1.ConditionFalse, reason, message)
	a.ja.Status.CompletionTime = &a.now
}

func (a *actor) setProgressing(reason, message string) {
	setCondition(&a.ja.Status.Conditions, a.ja.Generation, civ1alpha1.ConditionProgressing, metav1.ConditionTrue, reason, message)
}

// follows says whether the JobAction waits for the resulting job to finish.
func (a *actor) follows() bool {
	switch a.ja.Spec.Action {
	case civ1alpha1.ActionCancel, civ1alpha1.ActionErase:
		return false
	}
	return a.ja.Spec.FollowResult == nil || *a.ja.Spec.FollowResult
}

func (a *actor) verb() string {
	return map[civ1alpha1.ActionType]string{civ1alpha1.ActionRetry: "retry", civ1alpha1.ActionPlay: "play",
		civ1alpha1.ActionCancel: "cancel", civ1alpha1.ActionErase: "erase"}[a.ja.Spec.Action]
}

func (a *actor) describe(jobID int64) string {
	return fmt.Sprintf("job %d of project %s", jobID, a.ja.Spec.Project.String())
}

// pollDelay grows with the time a job has been running: quick answers for short
// jobs, few requests for long ones.
func pollDelay(elapsed time.Duration) time.Duration {
	return min(max(elapsed/5, 2*time.Second), time.Minute)
}

// summarize turns a GitLab job into its status summary.
func summarize(job *gitlab.Job) *civ1alpha1.JobSummary {
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

// numericProject returns spec.project as a number, or 0 for a path.
func numericProject(project string) int64 {
	id, _ := strconv.ParseInt(project, 10, 64)
	return id
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
