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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// Index fields of JobActions, so events on connections and Secrets find the
// JobActions that wait for them.
const (
	connectionNameField = ".spec.connectionRef.name"
	actionSecretsField  = ".spec.secretNames"
)

// JobActionReconciler performs one action on one GitLab job, exactly once, and
// follows the job that results.
//
// The pass is: resolve the target; record the intent in status (a patch with an
// optimistic lock); call GitLab; record what GitLab answered. A pass that finds
// an intent without an answer (a crash, a timeout, a lost response) asks GitLab
// whether the action happened before it calls again.
type JobActionReconciler struct {
	connections
	Recorder recorder.EventRecorder
	// Fresh reads a JobAction from the API server, bypassing the cache, when the
	// cached copy might predate the last write.
	Fresh client.Reader
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Workers is how many objects are reconciled at once.
	Workers int
}

// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobactions,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobactions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one JobAction one step further.
func (r *JobActionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ja := &civ1alpha1.JobAction{}
	if err := r.client.Get(ctx, req.NamespacedName, ja); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if finished(ja) {
		return r.expire(ctx, ja)
	}
	if ja.Status.IntentTime != nil && ja.Status.ActionTime == nil {
		// The cache may predate the answer the last pass recorded: read the
		// truth before deciding that the answer was lost.
		if err := r.Fresh.Get(ctx, req.NamespacedName, ja); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if finished(ja) {
			return r.expire(ctx, ja)
		}
	}
	before := ja.Status.DeepCopy()
	w := newStatusWriter(r.client, r.Fresh, ja)

	result, stepErr := r.step(ctx, ja, w)
	r.setProgress(ja, stepErr)

	if err := w.write(ctx, ja, jobActionStatus); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.announce(ctx, ja, before)
	if se := asStepError(stepErr); se != nil {
		if se.Terminal {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{RequeueAfter: retryDelay(se)}, nil
	}
	if finished(ja) {
		return r.expire(ctx, ja)
	}
	return result, stepErr
}

func jobActionStatus(obj client.Object) any { return obj.(*civ1alpha1.JobAction).Status }

// step does the work the status calls for next.
func (r *JobActionReconciler) step(ctx context.Context, ja *civ1alpha1.JobAction, w *statusWriter) (ctrl.Result, error) {
	conn, err := r.forConnection(ctx, ja.Namespace, ja.Spec.ConnectionRef.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	a := &actor{JobActionReconciler: r, ja: ja, conn: conn, gl: conn.client, now: metav1.NewTime(r.Now())}
	var result ctrl.Result
	switch {
	case ja.Status.IntentTime == nil:
		err = a.act(ctx, w)
		result.RequeueAfter = pollDelay(0) // for a followed result
	case ja.Status.ActionTime == nil:
		err = a.resume(ctx)
		result.RequeueAfter = pollDelay(0)
	default:
		result, err = a.follow(ctx)
	}
	// A refusal that no retry can change fails the JobAction for good.
	if se := asStepError(err); se != nil && se.Terminal && !se.Waiting {
		a.finish(civ1alpha1.ConditionFailed, se.Reason, se.Message)
		return ctrl.Result{}, nil
	}
	return result, err
}

// setProgress keeps the Progressing condition in step: True with the reason of
// what the action waits for, False once Complete or Failed.
func (r *JobActionReconciler) setProgress(ja *civ1alpha1.JobAction, err error) {
	gen := ja.Generation
	ja.Status.ObservedGeneration = gen
	if finished(ja) {
		terminal := findCondition(ja.Status.Conditions, civ1alpha1.ConditionComplete)
		if terminal == nil || terminal.Status != metav1.ConditionTrue {
			terminal = findCondition(ja.Status.Conditions, civ1alpha1.ConditionFailed)
		}
		setCondition(&ja.Status.Conditions, gen, civ1alpha1.ConditionProgressing, metav1.ConditionFalse, terminal.Reason, terminal.Message)
		return
	}
	reason, message := civ1alpha1.ReasonResolving, "Finding the target job"
	switch {
	case err != nil:
		if se := asStepError(err); se != nil {
			reason, message = se.Reason, se.Message
		} else {
			reason, message = civ1alpha1.ReasonGitLabUnavailable, err.Error()
		}
	case ja.Status.ActionTime != nil:
		reason, message = civ1alpha1.ReasonWaitingForResult, fmt.Sprintf("Waiting for job %d to finish", ja.Status.ResultJob.ID)
	case ja.Status.IntentTime != nil:
		reason, message = civ1alpha1.ReasonActionPending, "Checking with GitLab whether the action happened"
	}
	setCondition(&ja.Status.Conditions, gen, civ1alpha1.ConditionProgressing, metav1.ConditionTrue, reason, message)
}

// announce emits one event per transition: the action taken, a refusal, a
// result, or a new reason to wait. Never one per poll.
func (r *JobActionReconciler) announce(ctx context.Context, ja *civ1alpha1.JobAction, before *civ1alpha1.JobActionStatus) {
	if before.ActionTime == nil && ja.Status.ActionTime != nil {
		actionsTotal.WithLabelValues(string(ja.Spec.Action), "accepted").Inc()
		if !finished(ja) { // else the completion event below says it all
			r.Recorder.Eventf(ja, nil, corev1.EventTypeNormal, "Action"+string(ja.Spec.Action), string(ja.Spec.Action),
				"%s of job %d accepted by GitLab; resulting job %d", ja.Spec.Action, ja.Status.TargetJob.ID, ja.Status.ResultJob.ID)
		}
	}
	for _, t := range []string{civ1alpha1.ConditionComplete, civ1alpha1.ConditionFailed, civ1alpha1.ConditionProgressing} {
		now, was := findCondition(ja.Status.Conditions, t), findCondition(before.Conditions, t)
		if now == nil || now.Status != metav1.ConditionTrue || (was != nil && was.Status == now.Status && was.Reason == now.Reason) {
			continue
		}
		switch t {
		case civ1alpha1.ConditionComplete:
			r.Recorder.Eventf(ja, nil, corev1.EventTypeNormal, now.Reason, string(ja.Spec.Action), "%s", now.Message)
			actionsTotal.WithLabelValues(string(ja.Spec.Action), "complete").Inc()
		case civ1alpha1.ConditionFailed:
			r.Recorder.Eventf(ja, nil, corev1.EventTypeWarning, now.Reason, string(ja.Spec.Action), "%s", now.Message)
			actionsTotal.WithLabelValues(string(ja.Spec.Action), "failed").Inc()
			logf.FromContext(ctx).Info("JobAction failed", "reason", now.Reason, "message", now.Message)
		case civ1alpha1.ConditionProgressing:
			if now.Reason != civ1alpha1.ReasonResolving && now.Reason != civ1alpha1.ReasonWaitingForResult && now.Reason != civ1alpha1.ReasonActionPending {
				r.Recorder.Eventf(ja, nil, corev1.EventTypeWarning, now.Reason, string(ja.Spec.Action), "%s", now.Message)
			}
		}
	}
}

// expire deletes a finished JobAction once its ttlSecondsAfterFinished has passed.
func (r *JobActionReconciler) expire(ctx context.Context, ja *civ1alpha1.JobAction) (ctrl.Result, error) {
	ttl := ja.Spec.TTLSecondsAfterFinished
	if ttl == nil || ja.Status.CompletionTime == nil {
		return ctrl.Result{}, nil
	}
	deadline := ja.Status.CompletionTime.Add(time.Duration(*ttl) * time.Second)
	if wait := deadline.Sub(r.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	logf.FromContext(ctx).Info("Deleting finished JobAction after its TTL", "ttlSecondsAfterFinished", *ttl)
	err := r.client.Delete(ctx, ja, client.Preconditions{UID: &ja.UID})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

func finished(ja *civ1alpha1.JobAction) bool {
	return isTrue(ja.Status.Conditions, civ1alpha1.ConditionComplete) || isTrue(ja.Status.Conditions, civ1alpha1.ConditionFailed)
}

// retryDelay is how long to wait after a transient failure: what GitLab asked
// for, else a short, growing-enough pause that never hot-loops.
func retryDelay(se *stepError) time.Duration {
	if se.RetryAfter > 0 {
		return se.RetryAfter
	}
	return 5 * time.Second
}

// SetupWithManager registers the controller, its indexes and its watches.
func (r *JobActionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobAction{}, connectionNameField,
		func(obj client.Object) []string { return []string{obj.(*civ1alpha1.JobAction).Spec.ConnectionRef.Name} }); err != nil {
		return err
	}
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobAction{}, actionSecretsField,
		func(obj client.Object) []string { return secretsOfAction(obj.(*civ1alpha1.JobAction)) }); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&civ1alpha1.JobAction{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&civ1alpha1.GitLabConnection{},
			handler.EnqueueRequestsFromMapFunc(r.waitingOn(connectionNameField)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WatchesMetadata(&metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}},
			handler.EnqueueRequestsFromMapFunc(r.waitingOn(actionSecretsField)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Named("jobaction").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Complete(r)
}

// waitingOn maps an event on a connection or Secret to the unfinished
// JobActions that reference it by name.
func (r *JobActionReconciler) waitingOn(field string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list civ1alpha1.JobActionList
		if err := r.client.List(ctx, &list, client.InNamespace(obj.GetNamespace()),
			client.MatchingFields{field: obj.GetName()}); err != nil {
			return nil
		}
		var requests []reconcile.Request
		for i := range list.Items {
			if ja := &list.Items[i]; !finished(ja) && ja.Status.ActionTime == nil {
				requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ja.Namespace, Name: ja.Name}})
			}
		}
		return requests
	}
}

func secretsOfAction(ja *civ1alpha1.JobAction) []string {
	var names []string
	for _, v := range ja.Spec.Variables {
		if v.ValueFrom != nil {
			names = append(names, v.ValueFrom.SecretKeyRef.Name)
		}
	}
	if ja.Spec.Requester != nil {
		names = append(names, ja.Spec.Requester.JobTokenSecretRef.Name)
	}
	return names
}
