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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// The unit tests of this package drive one reconciler by hand: a fake
// Kubernetes client, the GitLab simulator on a loopback port, and a clock the
// test moves. They pin what the envtest suite cannot time precisely.

const unitToken = "glpat-unit-0123456789"

// unitWorld is one unit test's cluster (a fake client), GitLab (the
// simulator) and clock.
type unitWorld struct {
	t       *testing.T
	ctx     context.Context
	client  client.Client
	sim     *gitlabsim.Server
	project gitlabsim.Project
	clock   *clocktesting.FakePassiveClock
	events  *events.FakeRecorder
	gitlab  *gitlab.Clients
}

func newUnitWorld(t *testing.T, funcs *interceptor.Funcs) *unitWorld {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := civ1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	sim := gitlabsim.New(gitlabsim.Options{Seed: 1})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if _, err := sim.CreateUser(gitlabsim.UserSpec{Username: "operator", Token: unitToken}); err != nil {
		t.Fatal(err)
	}
	project, err := sim.CreateProject(gitlabsim.ProjectSpec{PathWithNamespace: "group/app"})
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gitlab-token"}, Data: map[string][]byte{"token": []byte(unitToken)}}
	conn := &civ1alpha1.GitLabConnection{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gitlab"},
		Spec: civ1alpha1.GitLabConnectionSpec{URL: url, TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token", Key: "token"},
			RequestsPerSecond: 100, Burst: 100, TimeoutSeconds: 5},
		Status: civ1alpha1.GitLabConnectionStatus{Conditions: []metav1.Condition{{Type: civ1alpha1.ConditionReady,
			Status: metav1.ConditionTrue, Reason: civ1alpha1.ReasonSucceeded, LastTransitionTime: metav1.Now()}}}}
	builder := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, conn).
		WithStatusSubresource(&civ1alpha1.GitLabConnection{}, &civ1alpha1.JobWatch{}, &civ1alpha1.JobAction{})
	if funcs != nil {
		builder = builder.WithInterceptorFuncs(*funcs)
	}
	return &unitWorld{t: t, ctx: context.Background(), client: builder.Build(), sim: sim, project: project,
		clock: clocktesting.NewFakePassiveClock(time.Now()), events: events.NewFakeRecorder(1000), gitlab: gitlab.NewClients()}
}

func (w *unitWorld) connections() connections {
	return connections{client: w.client, secrets: newSecretReader(w.client, w.client), gitlab: w.gitlab}
}

// watchReconciler is a JobWatchReconciler on the world, as claimant.
func (w *unitWorld) watchReconciler(claimant string) *JobWatchReconciler {
	return &JobWatchReconciler{connections: w.connections(), Recorder: w.events, APIReader: w.client, Clock: w.clock, claimant: claimant}
}

// createWatch stores a JobWatch on the world's project.
func (w *unitWorld) createWatch(name string, spec civ1alpha1.JobWatchSpec) types.NamespacedName {
	w.t.Helper()
	spec.ConnectionRef = civ1alpha1.ConnectionReference{Name: "gitlab"}
	spec.Project = intstr.FromString(w.project.PathWithNamespace)
	jw := &civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Generation: 1}, Spec: spec}
	if err := w.client.Create(w.ctx, jw); err != nil {
		w.t.Fatal(err)
	}
	return client.ObjectKeyFromObject(jw)
}

// reconcile runs one pass of r on key and fails the test on an error.
func (w *unitWorld) reconcile(r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, key types.NamespacedName) ctrl.Result {
	w.t.Helper()
	res, err := r.Reconcile(w.ctx, ctrl.Request{NamespacedName: key})
	if err != nil {
		w.t.Fatalf("reconcile %s: %v", key, err)
	}
	return res
}

// watch reads a JobWatch.
func (w *unitWorld) watch(key types.NamespacedName) *civ1alpha1.JobWatch {
	w.t.Helper()
	jw := &civ1alpha1.JobWatch{}
	if err := w.client.Get(w.ctx, key, jw); err != nil {
		w.t.Fatal(err)
	}
	return jw
}

// requestSync sets the sync-request annotation, as kubectl annotate would.
func (w *unitWorld) requestSync(key types.NamespacedName, value string) {
	w.t.Helper()
	jw := w.watch(key)
	patch := client.MergeFrom(jw.DeepCopy())
	jw.Annotations = map[string]string{civ1alpha1.SyncRequestAnnotation: value}
	if err := w.client.Patch(w.ctx, jw, patch); err != nil {
		w.t.Fatal(err)
	}
}

// retries counts the retries GitLab performed on the jobs.
func (w *unitWorld) retries(jobs []gitlabsim.JobRef) int64 {
	var n int64
	for _, j := range jobs {
		n += w.sim.Stats().Actions[j.ID].Retry
	}
	return n
}

// actionReconciler is a JobActionReconciler on the world, as claimant.
func (w *unitWorld) actionReconciler(claimant string) *JobActionReconciler {
	return &JobActionReconciler{connections: w.connections(), Recorder: w.events, APIReader: w.client, Clock: w.clock,
		records: &actionRecords{client: w.client, apiReader: w.client, known: w.client, claimant: claimant}}
}

// createAction stores a JobAction on the world's project.
func (w *unitWorld) createAction(name string, spec civ1alpha1.JobActionSpec) *civ1alpha1.JobAction {
	w.t.Helper()
	spec.ConnectionRef = civ1alpha1.ConnectionReference{Name: "gitlab"}
	spec.Project = intstr.FromString(w.project.PathWithNamespace)
	ja := &civ1alpha1.JobAction{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Generation: 1, UID: types.UID("uid-" + name)}, Spec: spec}
	if err := w.client.Create(w.ctx, ja); err != nil {
		w.t.Fatal(err)
	}
	return ja
}

// action reads a JobAction.
func (w *unitWorld) action(key types.NamespacedName) *civ1alpha1.JobAction {
	w.t.Helper()
	ja := &civ1alpha1.JobAction{}
	if err := w.client.Get(w.ctx, key, ja); err != nil {
		w.t.Fatal(err)
	}
	return ja
}
