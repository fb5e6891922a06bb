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
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// This file is where a JobAction decides to call GitLab: the first claim and
// call, and, when a claim exists without an answer, the question to GitLab
// that comes before any second call.

// jobActionPass is one reconcile of one JobAction.
type jobActionPass struct {
	*JobActionReconciler
	ja     *civ1alpha1.JobAction
	status *statusPatcher
	report *reporter
	conn   *resolvedConnection
	gl     gitlab.Client
	now    time.Time
}

// run does the work the status calls for next: act until GitLab has
// answered, then follow the resulting job.
func (p *jobActionPass) run(ctx context.Context) (ctrl.Result, error) {
	conn, err := p.forConnection(ctx, p.ja.Namespace, p.ja.Spec.ConnectionRef.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	p.conn, p.gl = conn, conn.client
	if p.ja.Status.ActionTime != nil {
		return p.follow(ctx)
	}
	if err := p.act(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if finished(p.ja) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollDelay(0)}, nil // the resulting job is followed from the next pass
}

// act brings a JobAction without GitLab's answer to one. Without a claim it
// claims and calls; with one, it resumes.
func (p *jobActionPass) act(ctx context.Context) error {
	rec, err := p.records.get(ctx, p.ja)
	if err != nil {
		return err
	}
	if rec == nil && p.ja.Status.IntentTime != nil {
		rec = p.legacyClaim() // an intent an operator without records wrote in status
	}
	if rec == nil {
		return p.claimAndCall(ctx)
	}
	return p.resume(ctx, rec)
}

// claimAndCall resolves the target, checks the requester, claims the call in
// a new record and calls. If another pass created the record first, this
// one resumes from it instead.
func (p *jobActionPass) claimAndCall(ctx context.Context) error {
	target, err := p.resolveTarget(ctx)
	if err != nil {
		return err
	}
	vars, err := p.prepareCall(ctx, target.ID, target.ProjectID)
	if err != nil {
		return err
	}
	rec, err := p.records.claim(ctx, p.ja, jobSummary(target), p.now)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Another pass claimed it first: resume from its claim. (Gone
		// again by now, it is claimed afresh by the next pass.)
		if rec, err = p.records.read(ctx, p.ja); err != nil || rec == nil {
			return errors.Join(errors.New("the JobActionRecord another pass created is gone; claiming again"), err)
		}
		return p.resume(ctx, rec)
	case err != nil:
		return err
	}
	return p.call(ctx, rec, vars)
}

// resume handles a claim without an answer in status: the answer was lost,
// the process crashed, or the JobAction was deleted and applied again. It
// asks GitLab whether the claimed action happened, reports it if so, and
// otherwise claims again and calls.
func (p *jobActionPass) resume(ctx context.Context, rec *civ1alpha1.JobActionRecord) error {
	if rec.Spec.Claim.JobActionUID == p.ja.UID && p.answeredMeanwhile(ctx) {
		return nil
	}
	if wait := p.records.inFlightFor(rec.Spec.Claim, p.conn.callTimeout(), p.now); wait > 0 {
		return waitingUntil(wait, civ1alpha1.ReasonActionPending, fmt.Sprintf(
			"%s claimed the call at %s and it may still be in flight; GitLab is asked whether it happened after %s",
			rec.Spec.Claim.Claimant, rec.Spec.Claim.Time.UTC().Format(time.RFC3339), p.now.Add(wait).UTC().Format(time.RFC3339)))
	}
	target := &rec.Spec.Target
	done, err := happened(ctx, p.gl, p.project(), p.ja.Spec.Action, target)
	if err != nil {
		return gitlabFailure(err, p.describe(target.ID))
	}
	if done != nil {
		p.adopt(ctx, rec, done)
		return nil
	}
	vars, err := p.prepareCall(ctx, target.ID, 0)
	if err != nil {
		return err
	}
	if rec.Name == "" { // a legacy claim: this is its first record
		rec, err = p.records.claim(ctx, p.ja, target, p.now)
	} else {
		err = p.records.reclaim(ctx, rec, p.ja, p.now)
	}
	if err != nil {
		return err // a conflict: another pass claimed it; the next pass sees its claim
	}
	return p.call(ctx, rec, vars)
}

// answeredMeanwhile reads the JobAction around the cache: a cached copy may
// predate the answer this process already recorded.
func (p *jobActionPass) answeredMeanwhile(ctx context.Context) bool {
	fresh := &civ1alpha1.JobAction{}
	if err := p.APIReader.Get(ctx, client.ObjectKeyFromObject(p.ja), fresh); err != nil || fresh.UID != p.ja.UID {
		return false
	}
	if fresh.Status.ActionTime == nil && !finished(fresh) {
		return false
	}
	fresh.Status.DeepCopyInto(&p.ja.Status)
	p.ja.ResourceVersion = fresh.ResourceVersion
	p.status = newStatusPatcher(p.client, p.APIReader, p.ja, jobActionStatus)
	return true
}

// prepareCall checks the requester, if any, and resolves the Play variables:
// what must hold, and what must be known, just before a call. targetProject
// is the target's numeric project id when already known.
func (p *jobActionPass) prepareCall(ctx context.Context, targetID, targetProject int64) ([]gitlab.Variable, error) {
	if p.ja.Spec.Requester != nil {
		if err := p.checkRequester(ctx, targetID, targetProject); err != nil {
			return nil, err
		}
	}
	if p.ja.Spec.Action != civ1alpha1.ActionPlay {
		return nil, nil
	}
	return p.secrets.variableValues(ctx, p.ja.Namespace, p.ja.Spec.Variables)
}

// call makes the one mutating request. internal/gitlab never resends it: a
// lost answer comes back as a transient error, and the next pass resumes.
func (p *jobActionPass) call(ctx context.Context, rec *civ1alpha1.JobActionRecord, vars []gitlab.Variable) error {
	target := &rec.Spec.Target
	p.recordClaim(rec)
	answer, err := perform(ctx, p.gl, p.project(), p.ja.Spec.Action, target.ID, vars, p.ja.Spec.Force)
	if err != nil {
		return gitlabFailure(err, p.describe(target.ID))
	}
	job, err := resultOf(ctx, p.gl, p.project(), p.ja.Spec.Action, target, answer)
	if err != nil {
		// The action happened; only its result is unknown: the next pass
		// finds it with happened.
		return gitlabFailure(err, p.describe(target.ID))
	}
	actionsTotal.WithLabelValues(string(p.ja.Spec.Action), "accepted").Inc()
	p.accepted(answer, job)
	return nil
}

// adopt records an action GitLab shows done. Claimed by this JobAction, it
// is the answer a lost response or a crash kept from it; claimed by an
// earlier JobAction of the same name and spec, it is reported as already
// done and the JobAction completes without acting.
func (p *jobActionPass) adopt(ctx context.Context, rec *civ1alpha1.JobActionRecord, job *gitlab.Job) {
	p.recordClaim(rec)
	if rec.Spec.Claim.JobActionUID == p.ja.UID || rec.Name == "" {
		logf.FromContext(ctx).Info("Adopting an action GitLab already performed", "job", rec.Spec.Target.ID, "resultJob", job.ID)
		actionsTotal.WithLabelValues(string(p.ja.Spec.Action), "adopted").Inc()
		p.accepted(job, job)
		return
	}
	logf.FromContext(ctx).Info("An earlier JobAction of this name and spec did this action; not repeating it",
		"record", rec.Name, "job", rec.Spec.Target.ID, "resultJob", job.ID)
	actionsTotal.WithLabelValues(string(p.ja.Spec.Action), "already-done").Inc()
	st := &p.ja.Status
	st.ActionTime = &metav1.Time{Time: rec.Spec.Claim.Time.Time}
	st.ResultJob = jobSummary(job)
	p.complete(civ1alpha1.ReasonAlreadyDone, fmt.Sprintf(
		"An earlier JobAction named %s claimed this %s at %s, and GitLab shows it done (%s): it is not done again. To act again, create a JobAction with another name.",
		p.ja.Name, p.ja.Spec.Action, rec.Spec.Claim.Time.UTC().Format(time.RFC3339), p.outcomeOf(&rec.Spec.Target, job)))
}

// recordClaim copies the claim into status: the target and when the call was
// decided.
func (p *jobActionPass) recordClaim(rec *civ1alpha1.JobActionRecord) {
	st := &p.ja.Status
	if st.TargetJob == nil || st.TargetJob.ID != rec.Spec.Target.ID {
		st.TargetJob = rec.Spec.Target.DeepCopy()
	}
	st.IntentTime = &metav1.Time{Time: rec.Spec.Claim.Time.Time}
}

// legacyClaim turns an intent recorded in status (by an operator version
// without records) into a claim; its claimant is unknown, so it is treated
// as another process's.
func (p *jobActionPass) legacyClaim() *civ1alpha1.JobActionRecord {
	st := p.ja.Status
	rec := &civ1alpha1.JobActionRecord{Spec: civ1alpha1.JobActionRecordSpec{JobActionName: p.ja.Name,
		Action: p.ja.Spec.Action, Project: p.project(),
		Claim: civ1alpha1.ActionClaim{JobActionUID: p.ja.UID, Time: metav1.NewMicroTime(st.IntentTime.Time)}}}
	if st.TargetJob != nil {
		rec.Spec.Target = *st.TargetJob
	}
	return rec
}

func (p *jobActionPass) project() string { return p.ja.Spec.Project.String() }

func (p *jobActionPass) describe(jobID int64) string {
	return fmt.Sprintf("job %d of project %s", jobID, p.project())
}
