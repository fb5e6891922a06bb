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

package e2e

import (
	"context"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// GitLab pushes job changes to the manager's webhook receiver, over HTTP,
// between processes: a JobWatch polling every 10 minutes retries a failed
// job within seconds, and the receiver answers bad deliveries without acting.
var _ = Describe("webhooks between processes", Serial, func() {
	It("retries a failed job seconds after GitLab's Job Hook, with polling at 10 minutes", func(ctx SpecContext) {
		w := startWorld(ctx, "webhooks", worldOptions{simWorld: "empty"})
		token := devenv.RandomToken("glpat-webhooks-")
		_, err := w.sim.Admin.CreateUser(ctx, gitlabsim.UserSpec{Username: "operator", Token: token})
		Expect(err).NotTo(HaveOccurred())
		project, err := w.sim.Admin.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: "push/app"})
		Expect(err).NotTo(HaveOccurred())

		By("giving the connection a webhook token and registering the hook GitLab-side")
		hookToken := devenv.RandomToken("whsec-")
		run(ctx, "create", "secret", "generic", "gitlab-webhook", "-n", w.ns, "--from-literal=token="+hookToken)
		w.connect(ctx, token, "  webhook:\n    secretRef: {name: gitlab-webhook}\n")
		path := strings.TrimSpace(run(ctx, "wait", "gitlabconnection/gitlab", "-n", w.ns, "--for=condition=WebhookReady",
			"--timeout=60s", "-o", "jsonpath={.status.webhookPath}"))
		Expect(path).To(HavePrefix("/hooks/"))
		_, err = w.sim.Admin.CreateHook(ctx, gitlabsim.HookSpec{ProjectID: project.ID, URL: w.manager.WebhookURL() + path,
			Token: hookToken, JobEvents: true, PipelineEvents: true})
		Expect(err).NotTo(HaveOccurred())

		apply(ctx, w.ns, `apiVersion: ci.jobops.dev/v1alpha1
kind: JobWatch
metadata:
  name: pushed
spec:
  connectionRef: {name: gitlab}
  project: push/app
  intervalSeconds: 600
  rules:
  - name: infra
    action: Retry
    match: {failureReasons: [runner_system_failure]}
`)
		run(ctx, "wait", "jobwatch/pushed", "-n", w.ns, "--for=condition=Ready", "--timeout=60s")

		By("failing a job: GitLab's Job Hook reaches the receiver and the watch retries it")
		p, err := w.sim.Admin.CreatePipeline(ctx, gitlabsim.PipelineSpec{ProjectID: project.ID, Ref: "main",
			Jobs: []gitlabsim.JobSpec{{Name: "rspec", Status: gitlabsim.StatusRunning}}})
		Expect(err).NotTo(HaveOccurred())
		failed := time.Now()
		Expect(w.sim.Admin.SetJobStatus(ctx, p.Jobs[0].ID, gitlabsim.StatusSpec{Status: gitlabsim.StatusFailed,
			FailureReason: gitlabsim.ReasonRunnerSystemFailure})).To(Succeed())
		Eventually(func(g Gomega) {
			stats, err := w.sim.Admin.Stats(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(stats.Actions[p.Jobs[0].ID].Retry).To(Equal(int64(1)))
		}, 5*time.Second, 50*time.Millisecond).Should(Succeed())
		AddReportEntry("failure to retry", time.Since(failed).String())
		Expect(w.jobWatch(ctx, "pushed").Status.LastEventTime).NotTo(BeNil())

		By("refusing a delivery with a wrong token")
		Expect(postHook(ctx, w.manager.WebhookURL()+path, "wrong-token")).To(Equal(401))
		Expect(postHook(ctx, w.manager.WebhookURL()+"/hooks/nothing-here", hookToken)).To(Equal(404))
	})
})

// postHook delivers a Job Hook with token to url and returns the status.
func postHook(ctx context.Context, url, token string) int {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url,
		strings.NewReader(`{"object_kind":"build","build_id":1,"build_status":"failed","pipeline_id":1,"project_id":1}`))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("X-Gitlab-Event", "Job Hook")
	req.Header.Set("X-Gitlab-Token", token)
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
	return resp.StatusCode
}
