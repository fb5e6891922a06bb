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
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

const shardLabel = "sharding.fluxcd.io/key"

// Managers scale out as shards: each reconciles the objects whose
// sharding.fluxcd.io/key label its --watch-label-selector matches, with its
// own lease. And when a misconfiguration makes two managers' scopes overlap,
// the claims written under optimistic locks still keep every action single.
var _ = Describe("shards", Serial, func() {
	It("syncs each of 300 JobWatches from exactly one of three shards, and a SIGKILLed shard resumes without acting twice", func(ctx SpecContext) {
		const perShard = 100
		shards := []string{"a", "b", "c"}
		metrics := map[string]string{}
		var specs []managerSpec
		for _, s := range shards {
			addr, err := devenv.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			metrics[s] = addr
			specs = append(specs, managerSpec{name: "shard-" + s, args: []string{
				"--watch-label-selector=" + shardLabel + "=" + s, "--metrics-bind-address=" + addr, "--metrics-secure=false"}})
		}
		w := startWorld(ctx, "shards", worldOptions{simWorld: "empty", managers: specs,
			lifecycle: &devenv.Lifecycle{Pending: 200 * time.Millisecond, Running: 500 * time.Millisecond}})

		By("giving each shard a connection, as a GitLab user of its own, checked by that shard")
		users := map[string]string{}
		for _, s := range shards {
			users[s] = "operator-" + s
			token := devenv.RandomToken("glpat-shard-" + s + "-")
			_, err := w.sim.Admin.CreateUser(ctx, gitlabsim.UserSpec{Username: users[s], Token: token})
			Expect(err).NotTo(HaveOccurred())
			run(ctx, "create", "secret", "generic", "gitlab-token-"+s, "-n", w.ns, "--from-literal=token="+token)
			apply(ctx, w.ns, fmt.Sprintf(`apiVersion: ci.jobops.dev/v1alpha1
kind: GitLabConnection
metadata:
  name: gitlab-%[1]s
  labels: {%[2]s: %[1]s}
spec:
  url: %[3]s
  tokenSecretRef: {name: gitlab-token-%[1]s}
  requestsPerSecond: 100
  burst: 100
`, s, shardLabel, w.sim.URL))
		}
		for _, s := range shards {
			run(ctx, "wait", "gitlabconnection/gitlab-"+s, "-n", w.ns, "--for=condition=Ready", "--timeout=60s")
		}

		By("making 300 projects with a failed job each, and 300 JobWatches spread over the shards")
		failed := map[string][]int64{} // shard -> the failed jobs of its projects
		var manifest strings.Builder
		for i := range perShard * len(shards) {
			s := shards[i%len(shards)]
			path := fmt.Sprintf("fleet/app-%03d", i)
			project, err := w.sim.Admin.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: path})
			Expect(err).NotTo(HaveOccurred())
			p, err := w.sim.Admin.CreatePipeline(ctx, gitlabsim.PipelineSpec{ProjectID: project.ID, Ref: "main",
				Jobs: []gitlabsim.JobSpec{{Name: "rspec", Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonRunnerSystemFailure}}})
			Expect(err).NotTo(HaveOccurred())
			failed[s] = append(failed[s], p.Jobs[0].ID)
			fmt.Fprintf(&manifest, `---
apiVersion: ci.jobops.dev/v1alpha1
kind: JobWatch
metadata:
  name: app-%03d
  labels: {%s: %s}
spec:
  connectionRef: {name: gitlab-%s}
  project: %s
  intervalSeconds: 600
  rules:
  - name: infra
    action: Retry
    match: {failureReasons: [runner_system_failure]}
`, i, shardLabel, s, s, path)
		}
		apply(ctx, w.ns, manifest.String())

		By("SIGKILLing shard b mid-work and starting it again")
		time.Sleep(500 * time.Millisecond)
		w.managers[1].Kill()
		Expect(w.managers[1].Start(ctx)).To(Succeed())

		By("checking with GitLab that every failed job was retried once, by its own shard's user")
		Eventually(func(g Gomega) {
			stats, err := w.sim.Admin.Stats(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			for _, jobs := range failed {
				for _, id := range jobs {
					g.Expect(stats.Actions[id].Retry).To(Equal(int64(1)), "job %d", id)
				}
			}
		}, 3*time.Minute, time.Second).Should(Succeed())
		for s, jobs := range failed {
			for _, id := range jobs[:10] {
				job, err := w.sim.Admin.Job(ctx, id)
				Expect(err).NotTo(HaveOccurred())
				Expect(job.Retried).To(BeTrue())
				retry, err := w.sim.Admin.Job(ctx, id+1)
				Expect(err).NotTo(HaveOccurred())
				if retry.RetryOf == id {
					Expect(retry.Username).To(Equal(users[s]), "job %d was retried by shard %s's connection", id, s)
				}
			}
		}

		By("reading each shard's metrics: a watch's actions appear only in its own shard")
		for i, s := range shards {
			acted := watchesWithActions(ctx, metrics[s])
			if s != "b" { // b restarted: its counters began again
				Expect(acted).To(HaveLen(perShard), "shard %s acted for its %d watches", s, perShard)
			}
			for name := range acted {
				var n int
				_, err := fmt.Sscanf(name, "app-%d", &n)
				Expect(err).NotTo(HaveOccurred())
				Expect(shards[n%len(shards)]).To(Equal(s), "watch %s acted on by shard %s (manager %d)", name, s, i)
			}
		}
	})

	It("never acts twice when two managers' scopes overlap", func(ctx SpecContext) {
		const n = 20
		w := startWorld(ctx, "overlap", worldOptions{simWorld: "empty",
			lifecycle: &devenv.Lifecycle{Pending: 200 * time.Millisecond, Running: 500 * time.Millisecond},
			managers:  []managerSpec{{name: "manager-1"}, {name: "manager-2"}}})
		token := devenv.RandomToken("glpat-overlap-")
		_, err := w.sim.Admin.CreateUser(ctx, gitlabsim.UserSpec{Username: "operator", Token: token})
		Expect(err).NotTo(HaveOccurred())
		w.connect(ctx, token, "  requestsPerSecond: 50\n  burst: 50\n")
		_, err = w.sim.Admin.SetFaults(ctx, gitlabsim.Faults{LoseResponseRate: 0.3, Seed: 7,
			Routes: []string{"POST /api/v4/projects/:id/jobs/:job_id/retry"}})
		Expect(err).NotTo(HaveOccurred())

		By("making, in each of 20 projects, a failed job a JobWatch retries and another a JobAction retries")
		var watched, targeted []int64
		var manifest strings.Builder
		for i := range n {
			path := fmt.Sprintf("overlap/app-%02d", i)
			project, err := w.sim.Admin.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: path})
			Expect(err).NotTo(HaveOccurred())
			p, err := w.sim.Admin.CreatePipeline(ctx, gitlabsim.PipelineSpec{ProjectID: project.ID, Ref: "main", Jobs: []gitlabsim.JobSpec{
				{Name: "rspec", Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonRunnerSystemFailure},
				{Name: "lint", Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonScriptFailure}}})
			Expect(err).NotTo(HaveOccurred())
			watched, targeted = append(watched, p.Jobs[0].ID), append(targeted, p.Jobs[1].ID)
			fmt.Fprintf(&manifest, `---
apiVersion: ci.jobops.dev/v1alpha1
kind: JobWatch
metadata: {name: watch-%02[1]d}
spec:
  connectionRef: {name: gitlab}
  project: %[2]s
  intervalSeconds: 10
  rules:
  - name: infra
    action: Retry
    match: {failureReasons: [runner_system_failure]}
---
apiVersion: ci.jobops.dev/v1alpha1
kind: JobAction
metadata: {name: retry-lint-%02[1]d}
spec:
  connectionRef: {name: gitlab}
  project: %[2]s
  action: Retry
  pipelineID: %[3]d
  jobName: lint
  followResult: false
`, i, path, p.ID)
		}
		apply(ctx, w.ns, manifest.String())

		By("waiting for every action to be done, then checking with GitLab that none was done twice")
		Eventually(func(g Gomega) {
			stats, err := w.sim.Admin.Stats(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			for _, id := range append(append([]int64{}, watched...), targeted...) {
				g.Expect(stats.Actions[id].Retry).To(BeNumerically(">=", 1), "job %d", id)
			}
		}, 2*time.Minute, time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			for name, ja := range w.jobActions(ctx) {
				g.Expect(trueCondition(ja.Status.Conditions, "Complete")).To(Equal("Complete/Succeeded"), name)
			}
		}, 2*time.Minute, time.Second).Should(Succeed())
		Consistently(func(g Gomega) {
			stats, err := w.sim.Admin.Stats(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			for _, id := range append(append([]int64{}, watched...), targeted...) {
				g.Expect(stats.Actions[id].Retry).To(Equal(int64(1)), "job %d was retried more than once", id)
			}
		}, 15*time.Second, time.Second).Should(Succeed())
		stats, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(stats.Count("POST /api/v4/projects/:id/jobs/:job_id/retry", 502)).To(BeNumerically(">", 0), "answers were lost")
	})
})

var actedWatch = regexp.MustCompile(`^jobops_jobwatch_actions_total\{[^}]*jobwatch="([^"]+)"`)

// watchesWithActions scrapes a manager's metrics and returns the JobWatches
// it has counted actions for.
func watchesWithActions(ctx context.Context, addr string) map[string]bool {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	out := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if m := actedWatch.FindStringSubmatch(line); m != nil {
			out[m[1]] = true
		}
	}
	return out
}
