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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// secretNameField indexes GitLabConnections by the Secrets they reference, so a
// Secret event finds its connections without listing them all.
const secretNameField = ".spec.secretNames"

// GitLabConnectionReconciler checks that a connection's token works (GET /user)
// and records who it is. It re-checks when the connection or its Secrets change,
// and every RecheckInterval.
type GitLabConnectionReconciler struct {
	connections
	Recorder        recorder.EventRecorder
	RecheckInterval time.Duration
}

// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile checks one GitLabConnection.
func (r *GitLabConnectionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	conn := &civ1alpha1.GitLabConnection{}
	if err := r.client.Get(ctx, req.NamespacedName, conn); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.clients.Forget(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	original := conn.DeepCopy()
	wasReady := findCondition(conn.Status.Conditions, civ1alpha1.ConditionReady)
	var before metav1.Condition
	if wasReady != nil {
		before = *wasReady
	}

	result, checkErr := r.check(ctx, conn)

	conn.Status.ObservedGeneration = conn.Generation
	if err := r.client.Status().Patch(ctx, conn, client.MergeFrom(original)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.eventOnTransition(conn, before)
	return result, checkErr
}

// check asks GitLab who the token is and sets Ready.
func (r *GitLabConnectionReconciler) check(ctx context.Context, conn *civ1alpha1.GitLabConnection) (ctrl.Result, error) {
	now := metav1.Now()
	conn.Status.LastCheckTime = &now
	user, err := r.currentUser(ctx, conn)
	if err != nil {
		se := asStepError(err)
		if se == nil { // the API server failed us: try again with backoff
			return ctrl.Result{}, err
		}
		setCondition(&conn.Status.Conditions, conn.Generation, civ1alpha1.ConditionReady, metav1.ConditionFalse, se.Reason, se.Message)
		conn.Status.Username, conn.Status.UserID = "", 0
		if se.Reason == civ1alpha1.ReasonSecretNotFound || se.Reason == civ1alpha1.ReasonSecretKeyMissing {
			return ctrl.Result{}, nil // the Secret watch brings the connection back
		}
		if !se.Terminal {
			return ctrl.Result{RequeueAfter: max(se.RetryAfter, 10*time.Second)}, nil
		}
		return ctrl.Result{RequeueAfter: r.RecheckInterval}, nil
	}
	conn.Status.Username, conn.Status.UserID = user.Username, user.ID
	setCondition(&conn.Status.Conditions, conn.Generation, civ1alpha1.ConditionReady, metav1.ConditionTrue,
		civ1alpha1.ReasonSucceeded, "GitLab accepted the token of user "+user.Username)
	return ctrl.Result{RequeueAfter: r.RecheckInterval}, nil
}

func (r *GitLabConnectionReconciler) currentUser(ctx context.Context, conn *civ1alpha1.GitLabConnection) (*gitlab.User, error) {
	cfg, err := r.config(ctx, conn)
	if err != nil {
		return nil, err
	}
	gl, err := r.clients.Get(cfg)
	if err != nil {
		if gitlab.ClassOf(err) == gitlab.InvalidConfig {
			return nil, &stepError{Reason: civ1alpha1.ReasonInvalidCABundle, Message: err.Error(), Terminal: true}
		}
		return nil, gitlabFailure(err, "GitLab at "+conn.Spec.URL)
	}
	user, err := gl.CurrentUser(ctx)
	if err != nil {
		return nil, gitlabFailure(err, "GitLab at "+conn.Spec.URL)
	}
	return user, nil
}

// eventOnTransition emits one event when Ready changes status or reason, never
// one per check.
func (r *GitLabConnectionReconciler) eventOnTransition(conn *civ1alpha1.GitLabConnection, before metav1.Condition) {
	after := findCondition(conn.Status.Conditions, civ1alpha1.ConditionReady)
	if after == nil || (after.Status == before.Status && after.Reason == before.Reason) {
		return
	}
	eventType := corev1.EventTypeNormal
	if after.Status != metav1.ConditionTrue {
		eventType = corev1.EventTypeWarning
	}
	r.Recorder.Eventf(conn, nil, eventType, after.Reason, "Check", "%s", after.Message)
}

// SetupWithManager registers the controller and its watches.
func (r *GitLabConnectionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &civ1alpha1.GitLabConnection{}, secretNameField,
		func(obj client.Object) []string {
			conn := obj.(*civ1alpha1.GitLabConnection)
			names := []string{conn.Spec.TokenSecretRef.Name}
			if conn.Spec.CABundleSecretRef != nil {
				names = append(names, conn.Spec.CABundleSecretRef.Name)
			}
			return names
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&civ1alpha1.GitLabConnection{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// Only Secret metadata is watched and cached (no data): enough to know
		// that a referenced Secret appeared or changed.
		WatchesMetadata(&metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}},
			handler.EnqueueRequestsFromMapFunc(r.connectionsOfSecret),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Named("gitlabconnection").
		Complete(r)
}

func (r *GitLabConnectionReconciler) connectionsOfSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	var list civ1alpha1.GitLabConnectionList
	if err := r.client.List(ctx, &list, client.InNamespace(secret.GetNamespace()),
		client.MatchingFields{secretNameField: secret.GetName()}); err != nil {
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items))
	for _, conn := range list.Items {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}})
	}
	return requests
}
