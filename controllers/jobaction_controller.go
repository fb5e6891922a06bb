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
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
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
// A pass resolves the target, claims the call in the JobAction's record (see
// jobaction_record.go), calls GitLab, and records the answer in status. A pass
// that finds a claim without an answer (a crash, a timeout, a lost response, a
// JobAction deleted and applied again) asks GitLab whether the action happened
// before it claims and calls again (jobaction_act.go).
type JobActionReconciler struct {
	connections
	records  *actionRecords
	Recorder recorder.EventRecorder
	// APIReader reads around the cache when the cached copy might predate the
	// last write.
	APIReader client.Reader
	// Clock is the time source; tests may replace it.
	Clock clock.PassiveClock
	// Workers is how many objects are reconciled at once.
	Workers int
	// queue lets the webhook receiver wake a JobAction whose job changed.
	queue queueHandle
}

// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobactions,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobactions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobactionrecords,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one JobAction one step further. Status and events are
// written once, in exit.
func (r *JobActionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	ja := &civ1alpha1.JobAction{}
	if err := r.client.Get(ctx, req.NamespacedName, ja); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if finished(ja) {
		return r.expire(ctx, ja)
	}
	p := &jobActionPass{JobActionReconciler: r, ja: ja, now: r.Clock.Now(),
		status: newStatusPatcher(r.client, r.APIReader, ja, jobActionStatus),
		report: newReporter(ja, &ja.Status.Conditions)}
	defer func() { res, err = p.exit(ctx, res, err) }()
	return p.run(ctx)
}

// exit ends every pass: it sets the conditions from where the pass stopped,
// writes status, emits the events that status shows, and decides when to
// come back.
func (p *jobActionPass) exit(ctx context.Context, res ctrl.Result, err error) (ctrl.Result, error) {
	p.summarize(ctx, err)
	if perr := p.status.patch(ctx, p.ja); perr != nil {
		if apierrors.IsNotFound(perr) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, perr // nothing announced: the pass is done again
	}
	p.report.emit(p.Recorder)
	if finished(p.ja) {
		return p.expire(ctx, p.ja)
	}
	return result(res, err, 0)
}

func jobActionStatus(obj client.Object) any { return obj.(*civ1alpha1.JobAction).Status }

// expire deletes a finished JobAction once its ttlSecondsAfterFinished has passed.
func (r *JobActionReconciler) expire(ctx context.Context, ja *civ1alpha1.JobAction) (ctrl.Result, error) {
	ttl := ja.Spec.TTLSecondsAfterFinished
	if ttl == nil || ja.Status.CompletionTime == nil {
		return ctrl.Result{}, nil
	}
	deadline := ja.Status.CompletionTime.Add(time.Duration(*ttl) * time.Second)
	if wait := deadline.Sub(r.Clock.Now()); wait > 0 {
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

// SetupWithManager registers the controller, its indexes and its watches.
func (r *JobActionReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobAction{}, connectionNameField,
		func(obj client.Object) []string { return []string{obj.(*civ1alpha1.JobAction).Spec.ConnectionRef.Name} }); err != nil {
		return err
	}
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobAction{}, actionSecretsField,
		func(obj client.Object) []string { return secretsOfAction(obj.(*civ1alpha1.JobAction)) }); err != nil {
		return err
	}
	if err := indexer.IndexField(context.Background(), &civ1alpha1.JobAction{}, actionJobField, func(obj client.Object) []string {
		ja := obj.(*civ1alpha1.JobAction)
		if finished(ja) {
			return nil
		}
		var keys []string
		for _, j := range []*civ1alpha1.JobSummary{ja.Status.TargetJob, ja.Status.ResultJob} {
			if j != nil {
				keys = append(keys, jobKey(ja.Spec.ConnectionRef.Name, j.ID))
			}
		}
		if ja.Spec.JobID != 0 {
			keys = append(keys, jobKey(ja.Spec.ConnectionRef.Name, ja.Spec.JobID))
		}
		return keys
	}); err != nil {
		return err
	}
	// Only a JobAction that has not had GitLab's answer can be waiting for a
	// connection or a Secret.
	waiting := func(obj client.Object) bool {
		ja := obj.(*civ1alpha1.JobAction)
		return !finished(ja) && ja.Status.ActionTime == nil
	}
	actions := func() client.ObjectList { return &civ1alpha1.JobActionList{} }
	opts.MaxConcurrentReconciles = r.Workers
	return ctrl.NewControllerManagedBy(mgr).
		For(&civ1alpha1.JobAction{}, builder.WithPredicates(specOrRequestChanged())).
		Watches(&civ1alpha1.GitLabConnection{},
			handler.EnqueueRequestsFromMapFunc(enqueueByIndex(r.client, actions, connectionNameField, waiting)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WatchesMetadata(secretMetadata(),
			handler.EnqueueRequestsFromMapFunc(enqueueByIndex(r.client, actions, actionSecretsField, waiting)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WatchesRawSource(r.queue.source()).
		Named("jobaction").
		WithOptions(opts).
		Complete(r)
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

// secretMetadata is the metadata-only form of a Secret that the controllers
// watch: enough to know a referenced Secret appeared or changed, without
// caching any Secret's data.
func secretMetadata() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
}
