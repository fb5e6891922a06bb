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

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
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
	// APIReader reads around the cache.
	APIReader client.Reader
	// Clock is the time source; tests may replace it.
	Clock clock.PassiveClock
	// Workers is how many objects are reconciled at once.
	Workers int
	// claimant names this process in the pending actions it records.
	claimant string
	// inbox holds the webhook events not yet answered by a sync, and queue
	// lets the receiver wake a watch.
	inbox hookInbox
	queue queueHandle

	mu      sync.Mutex
	watches map[types.NamespacedName]*watchState // one per watch, per generation
	starts  *rate.Limiter                        // first syncs that may start at once
}

// watchState is what the reconciler keeps in memory for one watch generation:
// its compiled rules and what its syncs learned (see watchMemory).
type watchState struct {
	uid        types.UID
	generation int64
	policy     *policy.Policy
	err        error
	memory     *watchMemory
}

// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobwatches,verbs=get;list;watch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobwatches/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile syncs one JobWatch when it is due. Status and events are written
// once, at the end (pending actions are also written before their calls).
func (r *JobWatchReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	jw := &civ1alpha1.JobWatch{}
	if err := r.client.Get(ctx, req.NamespacedName, jw); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	status := newStatusPatcher(r.client, r.APIReader, jw, jobWatchStatus)
	report := newReporter(jw, &jw.Status.Conditions)
	defer func() {
		if err != nil {
			re := asReconcileError(err)
			report.announce(civ1alpha1.ConditionReady, metav1.ConditionFalse, re.Reason, re.Message, corev1.EventTypeWarning, "Sync")
		}
		jw.Status.ObservedGeneration = jw.Generation
		if perr := status.patch(ctx, jw); perr != nil {
			res, err = ctrl.Result{}, client.IgnoreNotFound(perr)
			return
		}
		report.emit(r.Recorder)
		res, err = result(res, err, interval(jw))
	}()
	return r.reconcile(ctx, jw, status, report)
}

func jobWatchStatus(obj client.Object) any { return obj.(*civ1alpha1.JobWatch).Status }

// reconcile decides whether a sync is due and runs it.
func (r *JobWatchReconciler) reconcile(ctx context.Context, jw *civ1alpha1.JobWatch, status *statusPatcher, report *reporter) (ctrl.Result, error) {
	state := r.stateOf(jw)
	if state.err != nil {
		reason := civ1alpha1.ReasonInvalidRule
		var pe *policy.InvalidPatternError
		if errors.As(state.err, &pe) {
			reason = civ1alpha1.ReasonInvalidLogPattern
		}
		report.set(civ1alpha1.ConditionReady, metav1.ConditionFalse, reason, state.err.Error())
		report.announce(civ1alpha1.ConditionStalled, metav1.ConditionTrue, reason, state.err.Error(), corev1.EventTypeWarning, "Sync")
		return ctrl.Result{}, nil // nothing changes until the spec does
	}
	report.remove(civ1alpha1.ConditionStalled)
	if jw.Spec.Suspend {
		report.set(civ1alpha1.ConditionReady, metav1.ConditionFalse, civ1alpha1.ReasonSuspended, "Suspended: no sync until spec.suspend is false")
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	key := client.ObjectKeyFromObject(jw)
	due, scheduled := dueAt(jw, state.memory, now, r.startNow)
	wait := due.Sub(now)
	if wait > 0 {
		state.memory.nextSync = due
		if !r.inbox.has(key) {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	if scheduled && wait <= 0 {
		syncLag.Observe(now.Sub(due).Seconds())
	}
	conn, err := r.forConnection(ctx, jw.Namespace, jw.Spec.ConnectionRef.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	s := newSyncer(r, jw, conn, state, status, report, now)
	if mark, ok := r.inbox.take(key); ok {
		eventToSync.Observe(max(now.Sub(mark.first), 0).Seconds())
		if last := jw.Status.LastEventTime; last == nil || mark.last.Sub(last.Time) >= lastEventPrecision {
			jw.Status.LastEventTime = &metav1.Time{Time: mark.last}
		}
		if wait > 0 {
			// Not due: the events alone may decide, without reading GitLab.
			answered, err := s.answerEvents(ctx, mark)
			if err != nil {
				return ctrl.Result{}, err
			}
			if answered {
				report.set(civ1alpha1.ConditionReady, metav1.ConditionTrue, civ1alpha1.ReasonSucceeded, s.summary())
				return ctrl.Result{RequeueAfter: wait}, nil
			}
		}
	}
	if err := s.run(ctx); err != nil {
		return ctrl.Result{}, err
	}
	jw.Status.LastHandledRequest = requestOf(jw)
	next := s.nextSync()
	state.memory.nextSync = now.Add(next)
	state.memory.lastSync.Store(r.Clock.Now().UnixNano())
	if !quietSync(status.original, jw, now) {
		s.recordFigures()
		report.set(civ1alpha1.ConditionReady, metav1.ConditionTrue, civ1alpha1.ReasonSucceeded, s.summary())
		jw.Status.NextSyncTime = &metav1.Time{Time: state.memory.nextSync}
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// quietSync says a sync found nothing new: it changed nothing in status but
// the figures every sync writes (lastSyncTime, nextSyncTime, lastSync), the
// watch was already Ready, and status was written less than statusRefresh
// ago. Such a sync writes no status: with a thousand watches syncing every
// minute, the API server would otherwise take a write per watch per minute
// that says only "still nothing".
func quietSync(original client.Object, jw *civ1alpha1.JobWatch, now time.Time) bool {
	ready := meta.FindStatusCondition(jw.Status.Conditions, civ1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != civ1alpha1.ReasonSucceeded ||
		ready.ObservedGeneration != jw.Generation || jw.Status.ObservedGeneration != jw.Generation {
		return false
	}
	if last := jw.Status.LastSyncTime; last == nil || now.Sub(last.Time) >= statusRefresh {
		return false
	}
	return equality.Semantic.DeepEqual(withoutFigures(original.(*civ1alpha1.JobWatch).Status), withoutFigures(jw.Status))
}

// withoutFigures is st less what every sync would write.
func withoutFigures(st civ1alpha1.JobWatchStatus) civ1alpha1.JobWatchStatus {
	st.LastSyncTime, st.NextSyncTime, st.LastSync = nil, nil, nil
	return st
}

// stateOf returns the watch's compiled rules and memory, compiling them
// once per generation.
func (r *JobWatchReconciler) stateOf(jw *civ1alpha1.JobWatch) *watchState {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := types.NamespacedName{Namespace: jw.Namespace, Name: jw.Name}
	if st, ok := r.watches[key]; ok && st.uid == jw.UID && st.generation == jw.Generation {
		return st
	}
	p, err := policy.Compile(jw.Spec.Rules)
	st := &watchState{uid: jw.UID, generation: jw.Generation, policy: p, err: err, memory: newWatchMemory()}
	if r.watches == nil {
		r.watches = map[types.NamespacedName]*watchState{}
	}
	r.watches[key] = st
	return st
}

// startNow says whether a watch without a schedule may sync at once: a few
// a second may, the others wait for their first slot.
func (r *JobWatchReconciler) startNow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.starts == nil {
		r.starts = rate.NewLimiter(startsPerSecond, startBurst)
	}
	return r.starts.Allow()
}

// forget drops what the reconciler kept for a deleted watch.
func (r *JobWatchReconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.watches, key)
	r.inbox.forget(key)
	forgetWatchMetrics(key)
}

// matchesBridges says whether the watch's rules may match trigger jobs, as
// compiled at its last pass (true when unknown yet).
func (r *JobWatchReconciler) matchesBridges(key types.NamespacedName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.watches[key]
	return !ok || st.policy == nil || st.policy.NeedsBridges()
}

// SetupWithManager registers the controller and its watches.
func (r *JobWatchReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobWatch{}, connectionNameField,
		func(obj client.Object) []string { return []string{obj.(*civ1alpha1.JobWatch).Spec.ConnectionRef.Name} }); err != nil {
		return err
	}
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobWatch{}, watchProjectField, func(obj client.Object) []string {
		jw := obj.(*civ1alpha1.JobWatch)
		return projectKeys(jw.Spec.ConnectionRef.Name, jw.Spec.Project.String(), jw.Status.ProjectID)
	}); err != nil {
		return err
	}
	opts.MaxConcurrentReconciles = r.Workers
	return ctrl.NewControllerManagedBy(mgr).
		For(&civ1alpha1.JobWatch{}, builder.WithPredicates(specOrRequestChanged())).
		Watches(&civ1alpha1.GitLabConnection{},
			handler.EnqueueRequestsFromMapFunc(enqueueByIndex(r.client,
				func() client.ObjectList { return &civ1alpha1.JobWatchList{} }, connectionNameField, nil)),
			builder.WithPredicates(readyChanged())).
		WatchesRawSource(r.queue.source()).
		Named("jobwatch").
		WithOptions(opts).
		Complete(r)
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

// lastEventPrecision is how stale status.lastEventTime may be: kept to the
// minute, so that a busy project's events do not each cost a status write.
const lastEventPrecision = time.Minute

// interval is the watch's sync interval.
func interval(jw *civ1alpha1.JobWatch) time.Duration {
	return time.Duration(jw.Spec.IntervalSeconds) * time.Second
}

// lastSyncOf is when the watch last synced, as this process knows it (its
// memory first: a quiet sync writes no status), or zero.
func (r *JobWatchReconciler) lastSyncOf(jw *civ1alpha1.JobWatch) time.Time {
	r.mu.Lock()
	st, ok := r.watches[client.ObjectKeyFromObject(jw)]
	r.mu.Unlock()
	if ok && st.uid == jw.UID {
		if ns := st.memory.lastSync.Load(); ns != 0 {
			return time.Unix(0, ns)
		}
	}
	if t := jw.Status.LastSyncTime; t != nil {
		return t.Time
	}
	return time.Time{}
}
