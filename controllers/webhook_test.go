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
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

const (
	hookToken         = "whsec-0123456789abcdef"
	pipelineJobsRoute = "GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs"
)

// hooked gives the world's connection a webhook token, waits for the path it
// publishes, and registers a GitLab project hook for it in the simulator.
func (w *world) hooked() (path string, hook gitlabsim.Hook) {
	GinkgoHelper()
	w.secret("gitlab-webhook", map[string]string{"token": hookToken})
	conn := &civ1alpha1.GitLabConnection{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gitlab"}, conn)).To(Succeed())
	patch := client.MergeFrom(conn.DeepCopy())
	conn.Spec.Webhook = &civ1alpha1.WebhookSpec{SecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-webhook"}}
	Expect(k8s.Patch(ctx, conn, patch)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(conn), conn)).To(Succeed())
		c := findTrue(conn.Status.Conditions, civ1alpha1.ConditionWebhookReady)
		g.Expect(c).NotTo(BeNil(), "%+v", conn.Status.Conditions)
		g.Expect(conn.Status.WebhookPath).To(HavePrefix("/hooks/"))
	}).Should(Succeed())
	hook, err := sim.CreateHook(gitlabsim.HookSpec{ProjectID: w.project.ID, URL: receiverURL + conn.Status.WebhookPath,
		Token: hookToken, JobEvents: true, PipelineEvents: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = sim.DeleteHook(hook.ID) })
	return conn.Status.WebhookPath, hook
}

// pollingWatch is a JobWatch that polls every 10 minutes, as recommended
// with webhooks, and retries runner failures.
func (w *world) pollingWatch(name string) *civ1alpha1.JobWatch {
	GinkgoHelper()
	jw := w.watch(name, civ1alpha1.JobWatchSpec{IntervalSeconds: 600, MaxActionsPerSync: 50,
		Rules: []civ1alpha1.WatchRule{retryRule("infra", 1, "runner_system_failure")}})
	synced(jw) // the first sync, at creation
	return jw
}

var _ = Describe("Webhooks", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })
	AfterEach(func() { sim.ClearHookFaults() })

	It("retries a failed job within two seconds of GitLab's Job Hook, with polling at 10 minutes", func() {
		w.hooked()
		jw := w.pollingWatch("pushed")
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "running"})
		Expect(sim.WaitForHookDeliveries(ctx)).To(Succeed())
		reads := func() int64 { return projectRequestsOf(w.project, listRoute, pipelineJobsRoute) }
		before := reads()
		failed := time.Now()
		_, err := sim.SetJobStatus(p.Jobs[0].ID, "failed", "runner_system_failure")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() int64 { return actions(p.Jobs[0].ID).Retry }, 2*time.Second, 20*time.Millisecond).Should(Equal(int64(1)))
		GinkgoWriter.Printf("failure to retry: %s\n", time.Since(failed))
		Expect(reads()).To(Equal(before), "the Job Hook said all a Retry rule needs: no list, no pipeline read, only the retry")
		Eventually(func(g Gomega) {
			got := &civ1alpha1.JobWatch{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(jw), got)).To(Succeed())
			g.Expect(got.Status.LastEventTime).NotTo(BeNil(), "the last event is shown in status")
			g.Expect(got.Status.ProjectID).To(Equal(w.project.ID), "the numeric project id is learned")
		}).Should(Succeed())
		Consistently(func() int64 { return actions(p.Jobs[0].ID).Retry }, time.Second).Should(Equal(int64(1)))
	})

	It("answers a burst of events for one pipeline with one or two syncs", func() {
		w.hooked()
		w.pollingWatch("burst")
		specs := make([]gitlabsim.JobSpec, 200)
		for i := range specs {
			specs[i] = gitlabsim.JobSpec{Name: fmt.Sprintf("test-%d", i), Status: "pending"}
		}
		p := w.pipeline(specs...)
		lists := func() int64 { return projectRequestsOf(w.project, listRoute) }
		settled := func() bool {
			Expect(sim.WaitForHookDeliveries(ctx)).To(Succeed())
			before := lists()
			time.Sleep(time.Second)
			return lists() == before
		}
		Eventually(settled, 10*time.Second).Should(BeTrue(), "the syncs the pipeline's creation caused are over")
		before := lists()
		for _, j := range p.Jobs {
			_, err := sim.SetJobStatus(j.ID, "running", "")
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(sim.WaitForHookDeliveries(ctx)).To(Succeed())
		Expect(sim.Stats().HookTotals().Sent).To(BeNumerically(">=", 400), "the pipeline's creation and 200 status changes")
		Eventually(lists, 5*time.Second).Should(BeNumerically(">", before), "the events make the watch sync")
		Consistently(func() int64 { return lists() - before }, 2*time.Second).Should(BeNumerically("<=", 2), "200 Job Hooks, one or two syncs")
	})

	It("reads the project when a rule needs what a Job Hook does not say (a log pattern)", func() {
		w.hooked()
		jw := w.watch("by-log", civ1alpha1.JobWatchSpec{IntervalSeconds: 600, Rules: []civ1alpha1.WatchRule{{Name: "network",
			Action: civ1alpha1.ActionRetry, Match: civ1alpha1.RuleMatch{FailureReasons: []string{"script_failure"}, LogPattern: "(?i)connection reset"}}}})
		synced(jw)
		p := w.pipeline(gitlabsim.JobSpec{Name: "bundle", Status: "running", Trace: "fetching gems\nconnection reset by peer\n"},
			gitlabsim.JobSpec{Name: "unit", Status: "running", Trace: "1 example, 1 failure\n"})
		lists := projectRequestsOf(w.project, listRoute)
		for _, j := range p.Jobs {
			_, err := sim.SetJobStatus(j.ID, "failed", "script_failure")
			Expect(err).NotTo(HaveOccurred())
		}
		Eventually(func() int64 { return actions(p.Jobs[0].ID).Retry }, 3*time.Second).Should(Equal(int64(1)))
		Expect(actions(p.Jobs[1].ID).Retry).To(BeZero(), "its log does not match")
		Expect(projectRequestsOf(w.project, listRoute)).To(BeNumerically(">", lists), "a full sync read the project")
	})

	It("never acts twice on duplicated and reordered deliveries", func() {
		w.hooked()
		w.pollingWatch("dup")
		Expect(sim.SetHookFaults(gitlabsim.HookFaults{DuplicateRate: 1, ReorderRate: 0.5, Seed: 3})).To(Succeed())
		var specs []gitlabsim.JobSpec
		for i := range 5 {
			specs = append(specs, gitlabsim.JobSpec{Name: fmt.Sprintf("shard-%d", i), Status: "running"})
		}
		p := w.pipeline(specs...)
		for _, j := range p.Jobs {
			_, err := sim.SetJobStatus(j.ID, "failed", "runner_system_failure")
			Expect(err).NotTo(HaveOccurred())
		}
		Eventually(func(g Gomega) {
			for _, j := range p.Jobs {
				g.Expect(actions(j.ID).Retry).To(Equal(int64(1)), "job %d", j.ID)
			}
		}, 5*time.Second).Should(Succeed())
		Expect(sim.Stats().HookTotals().Duplicated).To(BeNumerically(">", 0), "deliveries were duplicated")
		for _, e := range events(w.ns, "dup") {
			Expect(e.Type).NotTo(Equal(corev1.EventTypeWarning), "a duplicate must not even be tried: %s", e.Note)
		}
		Consistently(func() int64 {
			var n int64
			for _, j := range p.Jobs {
				n += actions(j.ID).Retry
			}
			return n
		}, 2*time.Second).Should(Equal(int64(5)))
	})

	It("catches a lost delivery at the next poll", func() {
		w.hooked()
		jw := w.watch("safety-net", civ1alpha1.JobWatchSpec{IntervalSeconds: 10, MaxActionsPerSync: 10,
			Rules: []civ1alpha1.WatchRule{retryRule("infra", 1, "runner_system_failure")}})
		synced(jw)
		Expect(sim.SetHookFaults(gitlabsim.HookFaults{DropRate: 1})).To(Succeed())
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "running"})
		_, err := sim.SetJobStatus(p.Jobs[0].ID, "failed", "runner_system_failure")
		Expect(err).NotTo(HaveOccurred())
		Expect(sim.WaitForHookDeliveries(ctx)).To(Succeed())
		Expect(sim.Stats().HookTotals().Dropped).To(BeNumerically(">", 0))
		Eventually(func() int64 { return actions(p.Jobs[0].ID).Retry }, 15*time.Second).Should(Equal(int64(1)))
	})

	DescribeTable("answers bad deliveries cheaply and acts on nothing",
		func(mangle func(req *http.Request), status int) {
			// A failure no rule acts on, made before the hook exists: only the
			// deliveries below could make the watch sync.
			p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "script_failure"})
			path, _ := w.hooked()
			w.pollingWatch("guarded")
			body := fmt.Sprintf(`{"object_kind":"build","build_id":%d,"build_name":"rspec","build_status":"failed","pipeline_id":%d,"project_id":%d,"repository":{"homepage":"%s/%s"}}`,
				p.Jobs[0].ID, p.ID, w.project.ID, simURL, w.project.PathWithNamespace)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, receiverURL+path, strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("X-Gitlab-Event", "Job Hook")
			req.Header.Set("X-Gitlab-Token", hookToken)
			mangle(req)
			lists := projectRequestsOf(w.project, listRoute)
			resp, err := httpClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Body.Close()).To(Succeed())
			Expect(resp.StatusCode).To(Equal(status))
			Consistently(func() int64 { return projectRequestsOf(w.project, listRoute) - lists }, time.Second).Should(BeZero(), "no sync")
		},
		Entry("no token", func(req *http.Request) { req.Header.Del("X-Gitlab-Token") }, http.StatusUnauthorized),
		Entry("a wrong token", func(req *http.Request) { req.Header.Set("X-Gitlab-Token", hookToken+"x") }, http.StatusUnauthorized),
		Entry("an unknown path", func(req *http.Request) { req.URL.Path = "/hooks/0123456789abcdef" }, http.StatusNotFound),
		Entry("malformed JSON", func(req *http.Request) {
			req.Body, req.ContentLength = http.NoBody, 0
		}, http.StatusBadRequest),
		Entry("a body over 1 MiB", func(req *http.Request) {
			big := strings.Repeat(" ", 1<<20+1)
			req.Body, req.ContentLength = readCloser(big), int64(len(big))
		}, http.StatusRequestEntityTooLarge),
		Entry("an event kind it does not use", func(req *http.Request) { req.Header.Set("X-Gitlab-Event", "Push Hook") }, http.StatusOK),
		Entry("a project nobody watches", func(req *http.Request) {
			body := `{"object_kind":"build","build_id":1,"build_name":"x","build_status":"failed","pipeline_id":1,"project_id":999999,"repository":{"homepage":"http://x/nobody/none"}}`
			req.Body, req.ContentLength = readCloser(body), int64(len(body))
		}, http.StatusOK),
	)
})

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
