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
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
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
	APIReader       client.Reader
	Clock           clock.PassiveClock
	RecheckInterval time.Duration
	// Scope says which connections this manager checks: another shard's
	// connections are only read.
	Scope Scope
	// ReceivesWebhooks says the manager runs a webhook receiver.
	ReceivesWebhooks bool
}

// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=gitlabconnections/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile checks one GitLabConnection. Status and its event are written
// once, at the end.
func (r *GitLabConnectionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	conn := &civ1alpha1.GitLabConnection{}
	if err := r.client.Get(ctx, req.NamespacedName, conn); err != nil {
		if apierrors.IsNotFound(err) {
			r.gitlab.Forget(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Scope.owns(conn) {
		return ctrl.Result{}, nil
	}
	status := newStatusPatcher(r.client, r.APIReader, conn, func(o client.Object) any { return o.(*civ1alpha1.GitLabConnection).Status })
	report := newReporter(conn, &conn.Status.Conditions)
	defer func() {
		conn.Status.ObservedGeneration = conn.Generation
		if perr := status.patch(ctx, conn); perr != nil {
			res, err = ctrl.Result{}, client.IgnoreNotFound(perr)
			return
		}
		report.emit(r.Recorder)
		res, err = result(res, err, r.RecheckInterval)
	}()
	if err := r.publishWebhook(ctx, conn, report); err != nil {
		return ctrl.Result{}, err
	}
	return r.check(ctx, conn, report)
}

// publishWebhook sets status.webhookPath and WebhookReady from spec.webhook:
// the path is derived from the webhook token, so it is published only once
// the token can be read.
func (r *GitLabConnectionReconciler) publishWebhook(ctx context.Context, conn *civ1alpha1.GitLabConnection, report *reporter) error {
	hook := conn.Spec.Webhook
	if hook == nil {
		conn.Status.WebhookPath = ""
		report.remove(civ1alpha1.ConditionWebhookReady)
		return nil
	}
	if !r.ReceivesWebhooks {
		conn.Status.WebhookPath = ""
		report.announce(civ1alpha1.ConditionWebhookReady, metav1.ConditionFalse, civ1alpha1.ReasonReceiverDisabled,
			"The manager runs no webhook receiver (--webhook-bind-address=0): JobWatches of this connection only poll",
			corev1.EventTypeWarning, "Webhook")
		return nil
	}
	token, err := r.secrets.value(ctx, conn.Namespace, hook.SecretRef.Name, keyOr(hook.SecretRef.Key, "token"))
	if re := asReconcileError(err); re != nil {
		if re.kind != waitingKind {
			return err
		}
		conn.Status.WebhookPath = ""
		report.announce(civ1alpha1.ConditionWebhookReady, metav1.ConditionFalse, re.Reason, "Webhook token: "+re.Message,
			corev1.EventTypeWarning, "Webhook")
		return nil
	}
	conn.Status.WebhookPath = webhookPath(conn.Namespace, conn.Name, strings.TrimSpace(token))
	report.announce(civ1alpha1.ConditionWebhookReady, metav1.ConditionTrue, civ1alpha1.ReasonSucceeded,
		fmt.Sprintf("Give GitLab the receiver's address with path %s, Job and Pipeline events, and the token of Secret %s",
			conn.Status.WebhookPath, hook.SecretRef.Name), corev1.EventTypeNormal, "Webhook")
	return nil
}

// check asks GitLab who the token is and sets Ready, announcing each change
// of its status or reason with one event.
func (r *GitLabConnectionReconciler) check(ctx context.Context, conn *civ1alpha1.GitLabConnection, report *reporter) (ctrl.Result, error) {
	now := metav1.NewTime(r.Clock.Now())
	conn.Status.LastCheckTime = &now
	user, err := r.currentUser(ctx, conn)
	if err != nil {
		re := asReconcileError(err)
		report.announce(civ1alpha1.ConditionReady, metav1.ConditionFalse, re.Reason, re.Message, corev1.EventTypeWarning, "Check")
		conn.Status.Username, conn.Status.UserID = "", 0
		return ctrl.Result{}, re
	}
	conn.Status.Username, conn.Status.UserID = user.Username, user.ID
	report.announce(civ1alpha1.ConditionReady, metav1.ConditionTrue, civ1alpha1.ReasonSucceeded,
		"GitLab accepted the token of user "+user.Username, corev1.EventTypeNormal, "Check")
	return ctrl.Result{RequeueAfter: r.RecheckInterval}, nil
}

func (r *GitLabConnectionReconciler) currentUser(ctx context.Context, conn *civ1alpha1.GitLabConnection) (*gitlab.User, error) {
	cfg, err := r.config(ctx, conn)
	if err != nil {
		return nil, err
	}
	gl, err := r.gitlab.Get(cfg)
	if err != nil {
		if gitlab.ClassOf(err) == gitlab.InvalidConfig {
			// The only config a valid spec can get wrong is the CA bundle's content.
			return nil, stalled(civ1alpha1.ReasonInvalidCABundle, "%s", err.Error())
		}
		return nil, gitlabFailure(err, "GitLab at "+conn.Spec.URL)
	}
	user, err := gl.CurrentUser(ctx)
	if err != nil {
		return nil, gitlabFailure(err, "GitLab at "+conn.Spec.URL)
	}
	return user, nil
}

// SetupWithManager registers the controller and its watches.
func (r *GitLabConnectionReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &civ1alpha1.GitLabConnection{}, secretNameField,
		func(obj client.Object) []string {
			conn := obj.(*civ1alpha1.GitLabConnection)
			names := []string{conn.Spec.TokenSecretRef.Name}
			if conn.Spec.CABundleSecretRef != nil {
				names = append(names, conn.Spec.CABundleSecretRef.Name)
			}
			if conn.Spec.Webhook != nil {
				names = append(names, conn.Spec.Webhook.SecretRef.Name)
			}
			return names
		}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &civ1alpha1.GitLabConnection{}, webhookPathField,
		func(obj client.Object) []string {
			if path := obj.(*civ1alpha1.GitLabConnection).Status.WebhookPath; path != "" {
				return []string{path}
			}
			return nil
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&civ1alpha1.GitLabConnection{}, builder.WithPredicates(specOrRequestChanged(), r.Scope.predicate())).
		WatchesMetadata(secretMetadata(),
			handler.EnqueueRequestsFromMapFunc(enqueueByIndex(r.client,
				func() client.ObjectList { return &civ1alpha1.GitLabConnectionList{} }, secretNameField, nil)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Named("gitlabconnection").
		WithOptions(opts).
		Complete(r)
}
