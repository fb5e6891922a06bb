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

package controllers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/controllers"
	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
	"github.com/jobops-dev/gitlab-job-operator/internal/testenv"
)

// The suite runs the real controllers in a manager against a real
// kube-apiserver and etcd (envtest) and the GitLab simulator, in process.

const operatorToken = "glpat-operator-secret-0123456789"

var (
	ctx    context.Context
	k8s    client.Client
	sim    *gitlabsim.Server
	simURL string
	// receiverURL is the base URL of the manager's webhook receiver.
	receiverURL string
	scheme      = runtime.NewScheme()
	logBuffer   = &syncBuffer{}
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Controllers suite")
}

var _ = BeforeSuite(func() {
	// Everything the manager logs goes to a buffer, so specs can prove that no
	// token or variable value is ever logged.
	ctrl.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(logBuffer, GinkgoWriter)), zap.UseDevMode(true)))
	env, cfg, err := testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	// Cleanups run last-in first-out: the manager stops before the API server.
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(cancel)
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(civ1alpha1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	sim = gitlabsim.New(gitlabsim.Options{Seed: 1})
	simURL, err = sim.Start("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(sim.Close)
	_, err = sim.CreateUser(gitlabsim.UserSpec{Username: "operator", Token: operatorToken})
	Expect(err).NotTo(HaveOccurred())

	webhookAddr, err := devenv.FreeAddr()
	Expect(err).NotTo(HaveOccurred())
	receiverURL = "http://" + webhookAddr
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.Scope{}.CacheOptions(), // as cmd/manager configures it
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(controllers.SetupAll(mgr, controllers.Options{ConnectionRecheckInterval: time.Minute, WebhookAddr: webhookAddr})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

// syncBuffer is a bytes.Buffer safe for the manager's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// world is one spec's namespace, GitLab project and Ready connection.
type world struct {
	ns      string
	project gitlabsim.Project
}

var projectSeq int

// newWorld makes a namespace, a GitLab project, the token Secret and a Ready
// GitLabConnection named "gitlab".
func newWorld() *world {
	GinkgoHelper()
	ns := &corev1.Namespace{}
	ns.GenerateName = "spec-"
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	projectSeq++
	project, err := sim.CreateProject(gitlabsim.ProjectSpec{PathWithNamespace: fmt.Sprintf("group/app-%d", projectSeq)})
	Expect(err).NotTo(HaveOccurred())
	w := &world{ns: ns.Name, project: project}
	// envtest runs no namespace controller: delete what the spec made, so that
	// its watches and connections do not call the simulator during later specs.
	DeferCleanup(func() {
		for _, obj := range []client.Object{&civ1alpha1.JobWatch{}, &civ1alpha1.JobAction{}, &civ1alpha1.GitLabConnection{}} {
			Expect(k8s.DeleteAllOf(ctx, obj, client.InNamespace(ns.Name))).To(Succeed())
		}
	})
	w.secret("gitlab-token", map[string]string{"token": operatorToken})
	w.connection("gitlab", "gitlab-token")
	Eventually(func(g Gomega) {
		g.Expect(w.connectionReady("gitlab")).To(HaveField("Reason", civ1alpha1.ReasonSucceeded))
	}).Should(Succeed())
	return w
}

func (w *world) secret(name string, data map[string]string) {
	GinkgoHelper()
	s := &corev1.Secret{StringData: data}
	s.Name, s.Namespace = name, w.ns
	Expect(k8s.Create(ctx, s)).To(Succeed())
}

func (w *world) connection(name, secret string) *civ1alpha1.GitLabConnection {
	GinkgoHelper()
	conn := &civ1alpha1.GitLabConnection{Spec: civ1alpha1.GitLabConnectionSpec{
		URL: simURL, TokenSecretRef: civ1alpha1.TokenSecretReference{Name: secret},
		RequestsPerSecond: 100, Burst: 100, TimeoutSeconds: 5,
	}}
	conn.Name, conn.Namespace = name, w.ns
	Expect(k8s.Create(ctx, conn)).To(Succeed())
	return conn
}

// connectionReady returns the connection's Ready condition (empty if unset).
func (w *world) connectionReady(name string) metav1.Condition {
	GinkgoHelper()
	var conn civ1alpha1.GitLabConnection
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: name}, &conn)).To(Succeed())
	for _, c := range conn.Status.Conditions {
		if c.Type == civ1alpha1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

// pipeline creates a pipeline on main with the given jobs.
func (w *world) pipeline(jobs ...gitlabsim.JobSpec) gitlabsim.Pipeline {
	GinkgoHelper()
	p, err := sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Ref: "main", Jobs: jobs})
	Expect(err).NotTo(HaveOccurred())
	return p
}

// action creates a JobAction from spec, with the connection and project filled in.
func (w *world) action(name string, spec civ1alpha1.JobActionSpec) *civ1alpha1.JobAction {
	GinkgoHelper()
	spec.ConnectionRef = civ1alpha1.ConnectionReference{Name: "gitlab"}
	if spec.Project == (intstr.IntOrString{}) {
		spec.Project = intstr.FromString(w.project.PathWithNamespace)
	}
	ja := &civ1alpha1.JobAction{Spec: spec}
	ja.Name, ja.Namespace = name, w.ns
	Expect(k8s.Create(ctx, ja)).To(Succeed())
	return ja
}

// waitFor waits until the JobAction has condition t True with reason, and
// returns it.
func waitFor(ja *civ1alpha1.JobAction, t, reason string) *civ1alpha1.JobAction {
	GinkgoHelper()
	got := &civ1alpha1.JobAction{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ja), got)).To(Succeed())
		c := findTrue(got.Status.Conditions, t)
		g.Expect(c).NotTo(BeNil(), "no %s condition yet: %+v", t, got.Status.Conditions)
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}).Should(Succeed())
	return got
}

func findTrue(conditions []metav1.Condition, t string) *metav1.Condition {
	for i := range conditions {
		if conditions[i].Type == t && conditions[i].Status == "True" {
			return &conditions[i]
		}
	}
	return nil
}

// events returns the events about the named object in namespace.
func events(ns, name string) []eventsv1.Event {
	GinkgoHelper()
	var list eventsv1.EventList
	Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// jobRequestsOf counts the requests of one route the simulator answered
// about the given jobs. Counting by job, not in total, keeps a measure exact
// while a previous spec's objects are still being deleted.
func jobRequestsOf(route string, jobIDs ...int64) int64 {
	st := sim.Stats()
	var n int64
	for _, id := range jobIDs {
		n += st.JobRequests[id][route]
	}
	return n
}

// projectNames are the two ways a client names a project in a path: its
// numeric id and its full path.
func projectNames(p gitlabsim.Project) []string {
	return []string{strconv.FormatInt(p.ID, 10), p.PathWithNamespace}
}

// projectRequestsWhere counts the requests the simulator answered about a
// project and its jobs, whichever way the client named it, of the routes
// keep accepts. Counting by project keeps a measure exact while an earlier
// spec's objects are still being deleted.
func projectRequestsWhere(p gitlabsim.Project, keep func(route string) bool) int64 {
	st := sim.Stats()
	var n int64
	for _, name := range projectNames(p) {
		for route, c := range st.ProjectRequests[name] {
			if keep(route) {
				n += c
			}
		}
	}
	return n
}

// projectRequestsOf counts a project's requests of the given routes, or of
// every route when none is given.
func projectRequestsOf(p gitlabsim.Project, routes ...string) int64 {
	return projectRequestsWhere(p, func(route string) bool { return len(routes) == 0 || slices.Contains(routes, route) })
}

// mutationsOf counts a project's requests other than GET.
func mutationsOf(p gitlabsim.Project) int64 {
	return projectRequestsWhere(p, func(route string) bool { return !strings.HasPrefix(route, "GET ") })
}

// faults injects f into the requests about the world's project only, so that
// an earlier spec's objects, still being deleted, neither meet the fault nor
// use up its Count.
func (w *world) faults(f gitlabsim.Faults) error {
	f.Projects = projectNames(w.project)
	return sim.SetFaults(f)
}

// actions returns the actions the simulator performed on a job.
func actions(jobID int64) gitlabsim.ActionCounts {
	return sim.Stats().Actions[jobID]
}

func yamlOf(v any) (string, error) {
	data, err := yaml.Marshal(v)
	return string(data), err
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// newAPIRequest is a GitLab API request made as a person, with the operator's token.
func newAPIRequest(method, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, simURL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", operatorToken)
	return req, nil
}
