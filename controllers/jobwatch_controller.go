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
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// JobWatchReconciler syncs JobWatches: every intervalSeconds it reads what is
// new in the project, matches jobs against the rules and acts on them, exactly
// once and within the guards.
type JobWatchReconciler struct {
	connections
	Recorder recorder.EventRecorder
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Workers is how many objects are reconciled at once.
	Workers int
	// Fresh reads a JobWatch from the API server, bypassing the cache.
	Fresh client.Reader

	mu       sync.Mutex
	policies map[types.NamespacedName]compiledPolicy // compiled once per generation
}

type compiledPolicy struct {
	uid        types.UID
	generation int64
	policy     *policy.Policy
	err        error
}

// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobwatches,verbs=get;list;watch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobwatches/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile syncs one JobWatch when it is due.
func (r *JobWatchReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	jw := &civ1alpha1.JobWatch{}
	if err := r.client.Get(ctx, req.NamespacedName, jw); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	w := newStatusWriter(r.client, r.Fresh, jw)
	result, err := r.reconcile(ctx, jw, w)
	jw.Status.ObservedGeneration = jw.Generation
	if werr := w.write(ctx, jw, jobWatchStatus); werr != nil {
		return ctrl.Result{}, client.IgnoreNotFound(werr)
	}
	return result, err
}

func jobWatchStatus(obj client.Object) any { return obj.(*civ1alpha1.JobWatch).Status }

// reconcile decides whether a sync is due and runs it.
func (r *JobWatchReconciler) reconcile(ctx context.Context, jw *civ1alpha1.JobWatch, w *statusWriter) (ctrl.Result, error) {
	pol, err := r.policyFor(jw)
	if err != nil {
		reason := civ1alpha1.ReasonInvalidRule
		var pe *policy.InvalidPatternError
		if errors.As(err, &pe) {
			reason = civ1alpha1.ReasonInvalidLogPattern
		}
		r.setReady(jw, metav1.ConditionFalse, reason, err.Error())
		setCondition(&jw.Status.Conditions, jw.Generation, civ1alpha1.ConditionStalled, metav1.ConditionTrue, reason, err.Error())
		return ctrl.Result{}, nil // nothing changes until the spec does
	}
	setCondition(&jw.Status.Conditions, jw.Generation, civ1alpha1.ConditionStalled, metav1.ConditionFalse, civ1alpha1.ReasonSucceeded, "The rules compile")
	if jw.Spec.Suspend {
		r.setReady(jw, metav1.ConditionFalse, civ1alpha1.ReasonSuspended, "Suspended: no sync until spec.suspend is false")
		return ctrl.Result{}, nil
	}
	interval := time.Duration(jw.Spec.IntervalSeconds) * time.Second
	if wait := r.untilDue(jw, interval); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	conn, err := r.forConnection(ctx, jw.Namespace, jw.Spec.ConnectionRef.Name)
	if err != nil {
		return r.syncFailed(jw, err, interval)
	}
	s := newSyncer(r, jw, conn, pol, w)
	if err := s.run(ctx); err != nil {
		return r.syncFailed(jw, err, interval)
	}
	r.setReady(jw, metav1.ConditionTrue, civ1alpha1.ReasonSucceeded, s.summary())
	jw.Status.LastHandledRequest = jw.Annotations[civ1alpha1.SyncRequestAnnotation]
	next := policy.NextSync(interval, string(jw.UID))
	if !s.revisit.IsZero() {
		next = min(next, max(s.revisit.Sub(r.Now()), time.Second))
	}
	due := metav1.NewTime(r.Now().Add(next))
	jw.Status.NextSyncTime = &due
	return ctrl.Result{RequeueAfter: next}, nil
}

// untilDue is how long until the next sync is due: 0 for a new generation, a
// watch whose last sync failed or never ran, or a sync request.
func (r *JobWatchReconciler) untilDue(jw *civ1alpha1.JobWatch, interval time.Duration) time.Duration {
	next := jw.Status.NextSyncTime
	ready := findCondition(jw.Status.Conditions, civ1alpha1.ConditionReady)
	if next == nil || ready == nil || ready.ObservedGeneration != jw.Generation || ready.Status != metav1.ConditionTrue {
		return 0
	}
	if syncRequested(jw) {
		return 0
	}
	return min(next.Sub(r.Now()), interval)
}

// syncFailed records why a sync could not run and when to try again: a
// waiting problem waits for its watch, GitLab trouble backs off without
// losing the watch's place (the cursor is not moved).
func (r *JobWatchReconciler) syncFailed(jw *civ1alpha1.JobWatch, err error, interval time.Duration) (ctrl.Result, error) {
	se := asStepError(err)
	if se == nil {
		return ctrl.Result{}, err
	}
	r.setReady(jw, metav1.ConditionFalse, se.Reason, se.Message)
	switch {
	case se.Waiting:
		return ctrl.Result{}, nil
	case se.Terminal:
		return ctrl.Result{RequeueAfter: interval}, nil
	default:
		return ctrl.Result{RequeueAfter: max(se.RetryAfter, min(interval, 10*time.Second))}, nil
	}
}

// syncRequested says someone asked for a sync with the request annotation.
func syncRequested(jw *civ1alpha1.JobWatch) bool {
	req := jw.Annotations[civ1alpha1.SyncRequestAnnotation]
	return req != "" && req != jw.Status.LastHandledRequest
}

func (r *JobWatchReconciler) setReady(jw *civ1alpha1.JobWatch, status metav1.ConditionStatus, reason, message string) {
	setCondition(&jw.Status.Conditions, jw.Generation, civ1alpha1.ConditionReady, status, reason, message)
}

// policyFor compiles the watch's rules once per generation.
func (r *JobWatchReconciler) policyFor(jw *civ1alpha1.JobWatch) (*policy.Policy, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := types.NamespacedName{Namespace: jw.Namespace, Name: jw.Name}
	if c, ok := r.policies[key]; ok && c.uid == jw.UID && c.generation == jw.Generation {
		return c.policy, c.err
	}
	p, err := policy.Compile(jw.Spec.Rules)
	if r.policies == nil {
		r.policies = map[types.NamespacedName]compiledPolicy{}
	}
	r.policies[key] = compiledPolicy{uid: jw.UID, generation: jw.Generation, policy: p, err: err}
	return p, err
}

// forget drops the compiled policy of a deleted watch.
func (r *JobWatchReconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.policies, key)
}

// SetupWithManager registers the controller and its watches.
func (r *JobWatchReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &civ1alpha1.JobWatch{}, connectionNameField,
		func(obj client.Object) []string { return []string{obj.(*civ1alpha1.JobWatch).Spec.ConnectionRef.Name} }); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&civ1alpha1.JobWatch{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&civ1alpha1.GitLabConnection{}, handler.EnqueueRequestsFromMapFunc(r.watchesOf),
			builder.WithPredicates(readyChanged())).
		Named("jobwatch").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Complete(r)
}

// watchesOf maps a connection to the JobWatches that use it.
func (r *JobWatchReconciler) watchesOf(ctx context.Context, conn client.Object) []reconcile.Request {
	var list civ1alpha1.JobWatchList
	if err := r.client.List(ctx, &list, client.InNamespace(conn.GetNamespace()),
		client.MatchingFields{connectionNameField: conn.GetName()}); err != nil {
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items))
	for _, jw := range list.Items {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: jw.Namespace, Name: jw.Name}})
	}
	return requests
}

// readyChanged passes connection events that change its Ready status, so that
// a connection's periodic re-check does not trigger a sync of every watch.
func readyChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			before := e.ObjectOld.(*civ1alpha1.GitLabConnection).Status.Conditions
			after := e.ObjectNew.(*civ1alpha1.GitLabConnection).Status.Conditions
			return isTrue(before, civ1alpha1.ConditionReady) != isTrue(after, civ1alpha1.ConditionReady)
		},
	}
}
