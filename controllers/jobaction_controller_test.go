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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

var _ = Describe("JobAction", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })

	It("retries a failed job by id, follows the new job and completes when it succeeds", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "runner_system_failure"})
		target := p.Jobs[0].ID
		ja := w.action("retry", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, JobID: target})

		var newID int64
		Eventually(func(g Gomega) {
			got := &civ1alpha1.JobAction{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ja), got)).To(Succeed())
			g.Expect(got.Status.ResultJob).NotTo(BeNil())
			newID = got.Status.ResultJob.ID
			g.Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionProgressing)).To(HaveField("Reason", civ1alpha1.ReasonWaitingForResult))
		}).Should(Succeed())
		Expect(newID).To(BeNumerically(">", target))
		_, err := sim.SetJobStatus(newID, "running", "")
		Expect(err).NotTo(HaveOccurred())
		_, err = sim.SetJobStatus(newID, "success", "")
		Expect(err).NotTo(HaveOccurred())

		got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonJobSucceeded)
		Expect(got.Status.TargetJob).To(HaveField("ID", target))
		Expect(got.Status.TargetJob).To(HaveField("Name", "rspec"))
		Expect(got.Status.ResultJob).To(HaveField("Status", "success"))
		Expect(got.Status.CompletionTime).NotTo(BeNil())
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(actions(target).Retry).To(Equal(int64(1)))
	})

	It("fails with JobFailed and GitLab's failure reason when the new job fails", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed"})
		ja := w.action("retry", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, PipelineID: p.ID, JobName: "rspec"})
		Eventually(func() int64 { return sim.Stats().Actions[p.Jobs[0].ID].Retry }).Should(Equal(int64(1)))
		newer, ok := sim.LatestAttempt(p.ID, "rspec")
		Expect(ok).To(BeTrue())
		_, err := sim.SetJobStatus(newer.ID, "failed", "script_failure")
		Expect(err).NotTo(HaveOccurred())
		got := waitFor(ja, civ1alpha1.ConditionFailed, civ1alpha1.ReasonJobFailed)
		Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionFailed).Message).To(ContainSubstring("script_failure"))
	})

	It("plays a manual job found by ref and name, with variables from a literal and a Secret, never copying values", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "deploy-prod", When: "manual"})
		w.secret("deploy", map[string]string{"key": "s3cr3t-deploy-key"})
		follow := false
		ja := w.action("play", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionPlay, Ref: "main", JobName: "deploy-prod",
			FollowResult: &follow,
			Variables: []civ1alpha1.PlayVariable{{Key: "REASON", Value: "literal-value-42"},
				{Key: "KEY", ValueFrom: &civ1alpha1.VariableSource{SecretKeyRef: civ1alpha1.SecretKeySelector{Name: "deploy", Key: "key"}}}}})
		got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(got.Status.ResultJob).To(HaveField("Status", "pending"))
		Expect(sim.Stats().PlayVariables[p.Jobs[0].ID]).To(ConsistOf(
			gitlabsim.Variable{Key: "REASON", Value: "literal-value-42"}, gitlabsim.Variable{Key: "KEY", Value: "s3cr3t-deploy-key"}))
		Expect(actions(p.Jobs[0].ID).Play).To(Equal(int64(1)))

		status, err := yamlOf(got.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).NotTo(ContainSubstring("s3cr3t-deploy-key"))
		for _, e := range events(w.ns, "play") {
			Expect(e.Note).NotTo(ContainSubstring("s3cr3t-deploy-key"))
		}
		Expect(logBuffer.String()).NotTo(ContainSubstring("s3cr3t-deploy-key"))
		Expect(logBuffer.String()).NotTo(ContainSubstring(operatorToken))
	})

	It("waits for a variable's Secret and plays when it appears", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "deploy", When: "manual"})
		follow := false
		ja := w.action("play", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionPlay, JobID: p.Jobs[0].ID, FollowResult: &follow,
			Variables: []civ1alpha1.PlayVariable{{Key: "KEY", ValueFrom: &civ1alpha1.VariableSource{SecretKeyRef: civ1alpha1.SecretKeySelector{Name: "later", Key: "key"}}}}})
		waitFor(ja, civ1alpha1.ConditionProgressing, civ1alpha1.ReasonSecretNotFound)
		Expect(actions(p.Jobs[0].ID).Play).To(BeZero())
		w.secret("later", map[string]string{"key": "v-from-the-secret"})
		waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(sim.Stats().PlayVariables[p.Jobs[0].ID]).To(ConsistOf(gitlabsim.Variable{Key: "KEY", Value: "v-from-the-secret"}))
		Expect(actions(p.Jobs[0].ID).Play).To(Equal(int64(1)))
	})

	It("cancels a running job and completes on GitLab's answer", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "integration", Status: "running"})
		ja := w.action("cancel", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionCancel, JobID: p.Jobs[0].ID})
		got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(got.Status.ResultJob.Status).To(BeElementOf("canceling", "canceled"))
		Expect(actions(p.Jobs[0].ID).Cancel).To(Equal(int64(1)))
		Expect(jobRequestsOf(gitlabsim.RouteJob, p.Jobs[0].ID)).To(BeZero(),
			"a Cancel by job id needs no request but the cancel itself")
	})

	It("erases a finished job", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "build", Status: "success", Trace: "log", Artifacts: true})
		ja := w.action("erase", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionErase, JobID: p.Jobs[0].ID})
		got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		job, ok := sim.Job(p.Jobs[0].ID)
		Expect(ok).To(BeTrue())
		Expect(job.TraceSize).To(BeZero(), "the log is gone")
		Expect(job.HasArtifacts).To(BeFalse(), "the artifacts are gone")
		Expect(job.ErasedAt).NotTo(BeNil(), "GitLab records when it was erased")
		Expect(got.Status.ResultJob).To(HaveField("ID", p.Jobs[0].ID))
		Expect(actions(p.Jobs[0].ID).Erase).To(Equal(int64(1)))
	})

	It("retries a trigger job found by pipeline and name", func() {
		p, err := sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Ref: "main",
			Bridges: []gitlabsim.BridgeSpec{{Name: "trigger-downstream", Status: "failed"}}})
		Expect(err).NotTo(HaveOccurred())
		follow := false
		ja := w.action("retry-bridge", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, PipelineID: p.ID,
			JobName: "trigger-downstream", FollowResult: &follow})
		got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(got.Status.TargetJob.Bridge).To(BeTrue())
		Expect(actions(p.Bridges[0].ID).Retry).To(Equal(int64(1)))
	})

	DescribeTable("fails with a specific reason when GitLab refuses, with one event and no retry",
		func(job gitlabsim.JobSpec, action civ1alpha1.ActionType, reason string) {
			p := w.pipeline(job)
			id := p.Jobs[0].ID
			ja := w.action("refused", civ1alpha1.JobActionSpec{Action: action, JobID: id})
			got := waitFor(ja, civ1alpha1.ConditionFailed, reason)
			Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionFailed).Message).To(ContainSubstring("job %d", id))
			before := projectRequestsOf(w.project)
			Consistently(func() int64 { return projectRequestsOf(w.project) - before }, 3*time.Second).Should(BeZero(), "no hot loop")
			warnings := 0
			for _, e := range events(w.ns, "refused") {
				if e.Type == corev1.EventTypeWarning {
					warnings++
				}
			}
			Expect(warnings).To(Equal(1))
		},
		Entry("retry of a running job", gitlabsim.JobSpec{Name: "a", Status: "running"}, civ1alpha1.ActionRetry, civ1alpha1.ReasonNotRetryable),
		Entry("play of a job that is not manual", gitlabsim.JobSpec{Name: "a", Status: "failed"}, civ1alpha1.ActionPlay, civ1alpha1.ReasonUnplayable),
		Entry("erase of a running job", gitlabsim.JobSpec{Name: "a", Status: "running"}, civ1alpha1.ActionErase, civ1alpha1.ReasonNotErasable),
	)

	It("fails with JobNotFound for an unknown job id and ProjectNotFound for an unknown project", func() {
		ja := w.action("nojob", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionCancel, JobID: 999999})
		waitFor(ja, civ1alpha1.ConditionFailed, civ1alpha1.ReasonJobNotFound)
		ja = w.action("noproject", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionCancel, JobID: 1, Project: intstr.FromString("nobody/nothing")})
		waitFor(ja, civ1alpha1.ConditionFailed, civ1alpha1.ReasonProjectNotFound)
		ja = w.action("noname", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, Ref: "main", JobName: "does-not-exist"})
		waitFor(ja, civ1alpha1.ConditionFailed, civ1alpha1.ReasonJobNotFound)
	})

	It("waits for a missing connection without calling GitLab, then acts", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "a", Status: "running"})
		ja := &civ1alpha1.JobAction{Spec: civ1alpha1.JobActionSpec{ConnectionRef: civ1alpha1.ConnectionReference{Name: "later"},
			Project: intstr.FromString(w.project.PathWithNamespace), Action: civ1alpha1.ActionCancel, JobID: p.Jobs[0].ID}}
		ja.Name, ja.Namespace = "waiting", w.ns
		Expect(k8s.Create(ctx, ja)).To(Succeed())
		waitFor(ja, civ1alpha1.ConditionProgressing, civ1alpha1.ReasonConnectionNotFound)
		w.connection("later", "gitlab-token")
		waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(actions(p.Jobs[0].ID).Cancel).To(Equal(int64(1)))
	})

	It("deletes itself ttlSecondsAfterFinished after it completes, not before", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "a", Status: "running"})
		ttl := int32(3)
		ja := w.action("ttl", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionCancel, JobID: p.Jobs[0].ID, TTLSecondsAfterFinished: &ttl})
		got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(got.Status.CompletionTime).NotTo(BeNil())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(ja), &civ1alpha1.JobAction{}) }, 10*time.Second).
			Should(MatchError(ContainSubstring("not found")))
		Expect(time.Since(got.Status.CompletionTime.Time)).To(BeNumerically(">=", 3*time.Second-time.Second),
			"kept for its TTL after completing (status times are to the second)")
	})
})

var _ = Describe("JobAction exactly once", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })
	AfterEach(func() { sim.ClearFaults() })

	DescribeTable("adopts an action whose response was lost instead of calling again",
		func(job gitlabsim.JobSpec, action civ1alpha1.ActionType, route string, count func(gitlabsim.ActionCounts) int64) {
			p := w.pipeline(job)
			id := p.Jobs[0].ID
			lost := sim.Stats().Count(route, 502)
			Expect(w.faults(gitlabsim.Faults{LoseResponseRate: 1, Count: 1, Routes: []string{route}})).To(Succeed())
			follow := false
			ja := w.action("lost", civ1alpha1.JobActionSpec{Action: action, JobID: id, FollowResult: &follow})
			got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
			Expect(count(actions(id))).To(Equal(int64(1)))
			Expect(sim.Stats().Count(route, 502)-lost).To(Equal(int64(1)), "the lost response was injected")
			Expect(got.Status.IntentTime).NotTo(BeNil())
			Consistently(func() int64 { return count(actions(id)) }, time.Second).Should(Equal(int64(1)))
		},
		Entry("retry", gitlabsim.JobSpec{Name: "a", Status: "failed"}, civ1alpha1.ActionRetry,
			"POST /api/v4/projects/:id/jobs/:job_id/retry", func(c gitlabsim.ActionCounts) int64 { return c.Retry }),
		Entry("play", gitlabsim.JobSpec{Name: "a", When: "manual"}, civ1alpha1.ActionPlay,
			"POST /api/v4/projects/:id/jobs/:job_id/play", func(c gitlabsim.ActionCounts) int64 { return c.Play }),
		Entry("cancel", gitlabsim.JobSpec{Name: "a", Status: "running"}, civ1alpha1.ActionCancel,
			"POST /api/v4/projects/:id/jobs/:job_id/cancel", func(c gitlabsim.ActionCounts) int64 { return c.Cancel }),
		Entry("erase", gitlabsim.JobSpec{Name: "a", Status: "failed", Trace: "log"}, civ1alpha1.ActionErase,
			"POST /api/v4/projects/:id/jobs/:job_id/erase", func(c gitlabsim.ActionCounts) int64 { return c.Erase }),
	)

	It("calls once through a storm of 5xx on the action, retrying only after GitLab says it did not happen", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "a", Status: "failed"})
		id := p.Jobs[0].ID
		route := "POST /api/v4/projects/:id/jobs/:job_id/retry"
		refused := sim.Stats().Count(route, 503)
		Expect(w.faults(gitlabsim.Faults{ErrorRate: 1, ErrorStatus: 503, Count: 2, Routes: []string{route}})).To(Succeed())
		follow := false
		ja := w.action("storm", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, JobID: id, FollowResult: &follow})
		waitFor(ja, civ1alpha1.ConditionProgressing, civ1alpha1.ReasonGitLabUnavailable)
		waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(actions(id).Retry).To(Equal(int64(1)))
		Expect(sim.Stats().Count(route, 503) - refused).To(Equal(int64(2)))
	})
})

var _ = Describe("JobAction requester", func() {
	var (
		w       *world
		p       gitlabsim.Pipeline
		running int64
	)
	BeforeEach(func() {
		w = newWorld()
		var err error
		p, err = sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, Ref: "main", Username: "operator",
			Jobs: []gitlabsim.JobSpec{{Name: "deploy", Status: "running"}, {Name: "flaky", Status: "failed"}}})
		Expect(err).NotTo(HaveOccurred())
		running = p.Jobs[0].ID
		token, err := sim.JobToken(running)
		Expect(err).NotTo(HaveOccurred())
		w.secret("ci-job-token", map[string]string{"token": token})
	})

	requested := func(name, connection string, jobID int64, project string) *civ1alpha1.JobAction {
		follow := false
		ja := &civ1alpha1.JobAction{Spec: civ1alpha1.JobActionSpec{ConnectionRef: civ1alpha1.ConnectionReference{Name: connection},
			Project: intstr.FromString(project), Action: civ1alpha1.ActionRetry, JobID: jobID, FollowResult: &follow,
			Requester: &civ1alpha1.Requester{JobTokenSecretRef: civ1alpha1.TokenSecretReference{Name: "ci-job-token"}}}}
		ja.Name, ja.Namespace = name, w.ns
		Expect(k8s.Create(ctx, ja)).To(Succeed())
		return ja
	}

	It("acts for a running job of the target's project and records who asked", func() {
		got := waitFor(requested("asked", "gitlab", p.Jobs[1].ID, w.project.PathWithNamespace), civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(got.Status.Requester).To(Equal(&civ1alpha1.RequesterStatus{JobID: running, PipelineID: p.ID, ProjectID: w.project.ID, Username: "operator"}))
		Expect(actions(p.Jobs[1].ID).Retry).To(Equal(int64(1)))
	})

	It("refuses a requester whose job has finished", func() {
		_, err := sim.SetJobStatus(running, "success", "")
		Expect(err).NotTo(HaveOccurred())
		waitFor(requested("finished", "gitlab", p.Jobs[1].ID, w.project.PathWithNamespace), civ1alpha1.ConditionFailed, civ1alpha1.ReasonRequesterNotRunning)
		Expect(actions(p.Jobs[1].ID).Retry).To(BeZero())
	})

	It("refuses a target in another project", func() {
		other, err := sim.CreateProject(gitlabsim.ProjectSpec{PathWithNamespace: fmt.Sprintf("other/app-%d", w.project.ID)})
		Expect(err).NotTo(HaveOccurred())
		op, err := sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: other.ID, Jobs: []gitlabsim.JobSpec{{Name: "x", Status: "failed"}}})
		Expect(err).NotTo(HaveOccurred())
		waitFor(requested("elsewhere", "gitlab", op.Jobs[0].ID, other.PathWithNamespace), civ1alpha1.ConditionFailed, civ1alpha1.ReasonRequesterOtherProject)
		Expect(actions(op.Jobs[0].ID).Retry).To(BeZero())
	})

	It("checks the connection's agent: allowed, then not", func() {
		allowed, err := sim.CreateAgent(gitlabsim.AgentSpec{ConfigProjectID: w.project.ID})
		Expect(err).NotTo(HaveOccurred())
		elsewhere, err := sim.CreateProject(gitlabsim.ProjectSpec{PathWithNamespace: fmt.Sprintf("agents/config-%d", w.project.ID)})
		Expect(err).NotTo(HaveOccurred())
		denied, err := sim.CreateAgent(gitlabsim.AgentSpec{ConfigProjectID: elsewhere.ID})
		Expect(err).NotTo(HaveOccurred())
		for name, id := range map[string]int64{"agent-ok": allowed.ID, "agent-denied": denied.ID} {
			conn := &civ1alpha1.GitLabConnection{Spec: civ1alpha1.GitLabConnectionSpec{URL: simURL,
				TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token"}, AgentID: id}}
			conn.Name, conn.Namespace = name, w.ns
			Expect(k8s.Create(ctx, conn)).To(Succeed())
		}
		waitFor(requested("via-agent", "agent-ok", p.Jobs[1].ID, w.project.PathWithNamespace), civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		got := waitFor(requested("via-denied", "agent-denied", p.Jobs[1].ID, w.project.PathWithNamespace), civ1alpha1.ConditionFailed, civ1alpha1.ReasonAgentNotAllowed)
		Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionFailed).Message).To(ContainSubstring("agent %d", denied.ID))
		Expect(actions(p.Jobs[1].ID).Retry).To(Equal(int64(1)))
	})
})

var _ = Describe("JobAction applied again", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })

	// pipelineActions counts every action GitLab performed on any job of the pipeline.
	pipelineActions := func(pipelineID int64) int64 {
		GinkgoHelper()
		jobs, err := sim.PipelineJobs(pipelineID)
		Expect(err).NotTo(HaveOccurred())
		var n int64
		for _, j := range jobs {
			c := actions(j.ID)
			n += c.Retry + c.Play + c.Cancel + c.Erase
		}
		return n
	}
	// recreate deletes ja, waits until it is gone, and applies the same spec again.
	recreate := func(ja *civ1alpha1.JobAction) *civ1alpha1.JobAction {
		GinkgoHelper()
		Expect(k8s.Delete(ctx, ja)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(ja), &civ1alpha1.JobAction{}) }).
			Should(MatchError(ContainSubstring("not found")))
		again := &civ1alpha1.JobAction{Spec: ja.Spec}
		again.Name, again.Namespace = ja.Name, ja.Namespace
		Expect(k8s.Create(ctx, again)).To(Succeed())
		return again
	}
	// warningsAbout counts the Warning events about one incarnation of a name.
	warningsAbout := func(ja *civ1alpha1.JobAction) int {
		GinkgoHelper()
		n := 0
		for _, e := range events(ja.Namespace, ja.Name) {
			if e.Regarding.UID == ja.UID && e.Type == corev1.EventTypeWarning {
				n++
			}
		}
		return n
	}

	DescribeTable("finds its action done, says so, and never acts a second time",
		func(job gitlabsim.JobSpec, action civ1alpha1.ActionType, target func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec) {
			p := w.pipeline(job)
			spec := target(p)
			spec.Action = action
			follow := false
			spec.FollowResult = &follow
			first := waitFor(w.action("again", spec), civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
			Expect(pipelineActions(p.ID)).To(Equal(int64(1)))

			got := waitFor(recreate(first), civ1alpha1.ConditionComplete, civ1alpha1.ReasonAlreadyDone)
			Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionComplete).Message).To(
				And(ContainSubstring("it is not done again"), ContainSubstring("create a JobAction with another name")))
			Expect(got.Status.TargetJob).To(HaveField("ID", first.Status.TargetJob.ID), "the job the first one acted on, not the newest attempt")
			Expect(got.Status.ResultJob).To(HaveField("ID", first.Status.ResultJob.ID))
			Consistently(func() int64 { return pipelineActions(p.ID) }, time.Second).Should(Equal(int64(1)))
			Expect(warningsAbout(got)).To(BeZero(), "nothing went wrong")
		},
		Entry("retry by job id", gitlabsim.JobSpec{Name: "rspec", Status: "failed"}, civ1alpha1.ActionRetry,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{JobID: p.Jobs[0].ID}
			}),
		Entry("retry by pipeline and name", gitlabsim.JobSpec{Name: "rspec", Status: "failed"}, civ1alpha1.ActionRetry,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{PipelineID: p.ID, JobName: "rspec"}
			}),
		Entry("retry by ref and name", gitlabsim.JobSpec{Name: "rspec", Status: "failed"}, civ1alpha1.ActionRetry,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{Ref: "main", JobName: "rspec"}
			}),
		Entry("play by pipeline and name", gitlabsim.JobSpec{Name: "deploy-prod", When: "manual"}, civ1alpha1.ActionPlay,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{PipelineID: p.ID, JobName: "deploy-prod"}
			}),
		Entry("play by job id", gitlabsim.JobSpec{Name: "deploy-prod", When: "manual"}, civ1alpha1.ActionPlay,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{JobID: p.Jobs[0].ID}
			}),
		Entry("play by ref and name", gitlabsim.JobSpec{Name: "deploy-prod", When: "manual"}, civ1alpha1.ActionPlay,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{Ref: "main", JobName: "deploy-prod"}
			}),
		Entry("cancel by job id", gitlabsim.JobSpec{Name: "e2e", Status: "running"}, civ1alpha1.ActionCancel,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{JobID: p.Jobs[0].ID}
			}),
		Entry("erase by pipeline and name", gitlabsim.JobSpec{Name: "build", Status: "success", Trace: "log", Artifacts: true}, civ1alpha1.ActionErase,
			func(p gitlabsim.Pipeline) civ1alpha1.JobActionSpec {
				return civ1alpha1.JobActionSpec{PipelineID: p.ID, JobName: "build"}
			}),
	)

	It("plays deploy-prod once when its TTL deletes it and a GitOps tool applies it again, and again", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "deploy-prod", When: "manual"})
		ttl := int32(1)
		spec := civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionPlay, PipelineID: p.ID, JobName: "deploy-prod", TTLSecondsAfterFinished: &ttl}
		ja := w.action("deploy-prod-812", spec)
		Eventually(func() int64 { return actions(p.Jobs[0].ID).Play }).Should(Equal(int64(1)))
		_, err := sim.SetJobStatus(p.Jobs[0].ID, "running", "")
		Expect(err).NotTo(HaveOccurred())
		_, err = sim.SetJobStatus(p.Jobs[0].ID, "success", "")
		Expect(err).NotTo(HaveOccurred())
		for range 2 {
			// The operator deletes it after its TTL; the GitOps tool applies it again.
			Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(ja), &civ1alpha1.JobAction{}) }, 30*time.Second).
				Should(MatchError(ContainSubstring("not found")))
			ja = w.action("deploy-prod-812", spec)
			got := waitFor(ja, civ1alpha1.ConditionComplete, civ1alpha1.ReasonAlreadyDone)
			Expect(got.Status.ResultJob).To(And(HaveField("ID", p.Jobs[0].ID), HaveField("Status", "success")))
		}
		Expect(actions(p.Jobs[0].ID).Play).To(Equal(int64(1)), "production deployed once")
		Expect(pipelineActions(p.ID)).To(Equal(int64(1)))
	})

	It("acts again under a new name: a new request, as with batch Jobs", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed"})
		follow := false
		spec := civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionRetry, PipelineID: p.ID, JobName: "rspec", FollowResult: &follow}
		first := waitFor(w.action("retry-1", spec), civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		_, err := sim.SetJobStatus(first.Status.ResultJob.ID, "failed", "script_failure")
		Expect(err).NotTo(HaveOccurred())
		second := waitFor(w.action("retry-2", spec), civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		Expect(second.Status.TargetJob.ID).To(Equal(first.Status.ResultJob.ID), "the newest attempt, which the first retry made")
		Expect(actions(p.Jobs[0].ID).Retry).To(Equal(int64(1)))
		Expect(actions(first.Status.ResultJob.ID).Retry).To(Equal(int64(1)))
	})

	It("keeps a record of each claimed action, which its owner's deletion releases", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "a", Status: "running"})
		ja := waitFor(w.action("recorded", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionCancel, JobID: p.Jobs[0].ID}),
			civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		var records civ1alpha1.JobActionRecordList
		Expect(k8s.List(ctx, &records, client.InNamespace(w.ns))).To(Succeed())
		Expect(records.Items).To(HaveLen(1))
		rec := records.Items[0]
		Expect(rec.Name).To(HavePrefix("recorded-"))
		Expect(rec.Spec).To(And(HaveField("JobActionName", "recorded"), HaveField("Action", civ1alpha1.ActionCancel),
			HaveField("Target.ID", p.Jobs[0].ID), HaveField("Claim.JobActionUID", ja.UID)))
		Expect(rec.Status.ReleasedAt).To(BeNil())
	})
})

var _ = Describe("JobAction playing a manual job that has already run", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })
	AfterEach(func() { sim.ClearFaults() })

	// ran makes a manual job that has run (played, and finished as status).
	ran := func(status string) gitlabsim.Pipeline {
		GinkgoHelper()
		p := w.pipeline(gitlabsim.JobSpec{Name: "deploy-prod", When: "manual"})
		_, err := sim.SetJobStatus(p.Jobs[0].ID, "running", "")
		Expect(err).NotTo(HaveOccurred())
		_, err = sim.SetJobStatus(p.Jobs[0].ID, status, "")
		Expect(err).NotTo(HaveOccurred())
		return p
	}

	It("follows the new attempt GitLab makes, not the job it answers with", func() {
		p := ran("success")
		ja := w.action("replay", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionPlay, JobID: p.Jobs[0].ID})
		var attempt int64
		Eventually(func(g Gomega) {
			got := &civ1alpha1.JobAction{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ja), got)).To(Succeed())
			g.Expect(got.Status.ResultJob).NotTo(BeNil())
			attempt = got.Status.ResultJob.ID
			g.Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionProgressing)).To(HaveField("Reason", civ1alpha1.ReasonWaitingForResult))
		}).Should(Succeed())
		latest, ok := sim.LatestAttempt(p.ID, "deploy-prod")
		Expect(ok).To(BeTrue())
		Expect(attempt).To(Equal(latest.ID), "the new attempt, not job %d which GitLab answered with", p.Jobs[0].ID)
		Expect(attempt).To(BeNumerically(">", p.Jobs[0].ID))
		_, err := sim.SetJobStatus(attempt, "running", "")
		Expect(err).NotTo(HaveOccurred())
		_, err = sim.SetJobStatus(attempt, "failed", "script_failure")
		Expect(err).NotTo(HaveOccurred())
		got := waitFor(ja, civ1alpha1.ConditionFailed, civ1alpha1.ReasonJobFailed)
		Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionFailed).Message).To(ContainSubstring("Job %d failed", attempt))
		Expect(actions(p.Jobs[0].ID).Play).To(Equal(int64(1)))
	})

	It("after a lost answer, finds the new attempt instead of playing again", func() {
		p := ran("failed")
		route := "POST /api/v4/projects/:id/jobs/:job_id/play"
		Expect(w.faults(gitlabsim.Faults{LoseResponseRate: 1, Count: 1, Routes: []string{route}})).To(Succeed())
		follow := false
		got := waitFor(w.action("replay-lost", civ1alpha1.JobActionSpec{Action: civ1alpha1.ActionPlay, JobID: p.Jobs[0].ID, FollowResult: &follow}),
			civ1alpha1.ConditionComplete, civ1alpha1.ReasonSucceeded)
		latest, ok := sim.LatestAttempt(p.ID, "deploy-prod")
		Expect(ok).To(BeTrue())
		Expect(got.Status.ResultJob.ID).To(Equal(latest.ID))
		Consistently(func() int64 { return actions(p.Jobs[0].ID).Play }, time.Second).Should(Equal(int64(1)), "played once")
		Expect(attempts(p.ID, "deploy-prod")).To(Equal(2))
	})
})
