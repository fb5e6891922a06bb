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
	"errors"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// This file is where a problem found during a reconcile becomes a condition
// reason, a message a person can act on, and what controller-runtime does
// next. Every problem is one of three kinds, and result is the one place
// that turns a kind into a ctrl.Result.

// errorKind says what helps a problem go away.
type errorKind int

const (
	// transientKind: it should pass by itself (GitLab 5xx or a timeout, the
	// API server). The error is returned, so the rate-limited workqueue
	// retries it with exponential backoff.
	transientKind errorKind = iota
	// waitingKind: the object waits for something outside it, either another
	// object (a Secret, a connection; a watch brings the object back) or a
	// known moment (GitLab's Retry-After, an earlier call's deadline).
	waitingKind
	// stalledKind: a refusal that asking again will not change (401, 403,
	// 404, a job GitLab will not retry). A JobAction fails for good; a
	// JobWatch or a connection looks again at its own interval, since GitLab
	// can change without the spec changing.
	stalledKind
)

// reconcileError is a problem with its kind, the condition reason a user can
// look up, and a message that says what to fix.
type reconcileError struct {
	kind    errorKind
	Reason  string
	Message string
	// RequeueAfter is when a waitingKind problem is looked at again; 0 when a
	// watch brings the object back.
	RequeueAfter time.Duration
	cause        error
}

func (e *reconcileError) Error() string { return e.Reason + ": " + e.Message }
func (e *reconcileError) Unwrap() error { return e.cause }

// waitingFor is a problem that a change to another object resolves; the
// watch on that object brings this one back, so nothing is requeued.
func waitingFor(reason, format string, args ...any) *reconcileError {
	return &reconcileError{kind: waitingKind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// waitingUntil is a problem that resolves at a known moment.
func waitingUntil(after time.Duration, reason, message string) *reconcileError {
	return &reconcileError{kind: waitingKind, Reason: reason, Message: message, RequeueAfter: max(after, time.Second)}
}

// stalled is a refusal that only a change to the spec (or to GitLab) undoes.
func stalled(reason, format string, args ...any) *reconcileError {
	return &reconcileError{kind: stalledKind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// asReconcileError returns err as a *reconcileError. An error from
// internal/gitlab should have been classified at its call site (gitlabFailure
// names what was asked); anything else comes from the Kubernetes side, is
// transient, and says so with its own reason.
func asReconcileError(err error) *reconcileError {
	if err == nil {
		return nil
	}
	var re *reconcileError
	if errors.As(err, &re) {
		return re
	}
	if gitlab.ClassOf(err) != gitlab.Unknown {
		return gitlabFailure(err, "GitLab")
	}
	return &reconcileError{kind: transientKind, Reason: civ1alpha1.ReasonAPIServerError,
		Message: "the Kubernetes API server failed a request: " + err.Error(), cause: err}
}

// result is what controller-runtime does after a pass that ended with err:
// a transient error is returned (the workqueue backs off), a wait requeues
// when it is due (or never, when a watch will bring the object back), and a
// stalled object is looked at again after recheck (0: never).
func result(ok ctrl.Result, err error, recheck time.Duration) (ctrl.Result, error) {
	re := asReconcileError(err)
	if re == nil {
		return ok, nil
	}
	switch re.kind {
	case waitingKind:
		return ctrl.Result{RequeueAfter: re.RequeueAfter}, nil
	case stalledKind:
		return ctrl.Result{RequeueAfter: recheck}, nil
	default:
		return ctrl.Result{}, re
	}
}

// gitlabFailure classifies an error from internal/gitlab: a reason per
// GitLab answer, and a kind from whether asking again can help. what names
// the object of the call for the message ("job 812 of group/app").
func gitlabFailure(err error, what string) *reconcileError {
	re := &reconcileError{kind: stalledKind, Message: fmt.Sprintf("%s: %v", what, err), cause: err}
	switch gitlab.ClassOf(err) {
	case gitlab.Unauthorized:
		re.Reason = civ1alpha1.ReasonUnauthorized
		re.Message = fmt.Sprintf("GitLab refused the token (401) for %s: check the token Secret; it may be expired or revoked", what)
	case gitlab.Forbidden:
		re.Reason = civ1alpha1.ReasonForbidden
	case gitlab.ProjectNotFound:
		re.Reason = civ1alpha1.ReasonProjectNotFound
		re.Message = fmt.Sprintf("GitLab does not know the project of %s, or the token cannot see it", what)
	case gitlab.NotFound, gitlab.JobNotFoundForToken:
		re.Reason = civ1alpha1.ReasonJobNotFound
		re.Message = fmt.Sprintf("GitLab has no %s", what)
	case gitlab.NotRetryable:
		re.Reason = civ1alpha1.ReasonNotRetryable
		re.Message = fmt.Sprintf("GitLab refused to retry %s: only a finished job that has not been retried already can be retried", what)
	case gitlab.Unplayable:
		re.Reason = civ1alpha1.ReasonUnplayable
		re.Message = fmt.Sprintf("GitLab refused to play %s: only a manual job can be played", what)
	case gitlab.NotErasable:
		re.Reason = civ1alpha1.ReasonNotErasable
		re.Message = fmt.Sprintf("GitLab refused to erase %s: only a finished job with a log or artifacts can be erased", what)
	case gitlab.BadRequest, gitlab.InvalidConfig:
		re.Reason = civ1alpha1.ReasonBadRequest
	case gitlab.Unreachable:
		re.kind, re.Reason = transientKind, civ1alpha1.ReasonUnreachable
	case gitlab.TLSError:
		re.kind, re.Reason = transientKind, civ1alpha1.ReasonTLSError
	case gitlab.RateLimited:
		re.kind, re.Reason = waitingKind, civ1alpha1.ReasonGitLabUnavailable
		re.RequeueAfter = gitlab.RetryAfter(err)
	default: // Transient, Unknown
		re.kind, re.Reason = transientKind, civ1alpha1.ReasonGitLabUnavailable
		if after := gitlab.RetryAfter(err); after > 0 {
			re.kind, re.RequeueAfter = waitingKind, after
		}
	}
	return re
}
