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

const (
	retryRoute = "POST /api/v4/projects/:id/jobs/:job_id/retry"
	listRoute  = "GET /api/v4/projects/:id/jobs"
)

// watch creates a JobWatch on the world's project with the given rules.
func (w *world) watch(name string, spec civ1alpha1.JobWatchSpec) *civ1alpha1.JobWatch {
	GinkgoHelper()
	spec.ConnectionRef = civ1alpha1.ConnectionReference{Name: "gitlab"}
	spec.Project = intstr.FromString(w.project.PathWithNamespace)
	if spec.IntervalSeconds == 0 {
		spec.IntervalSeconds = 3600 // specs ask for syncs with the annotation
	}
	if spec.MaxActionsPerSync == 0 {
		spec.MaxActionsPerSync = 10
	}
	jw := &civ1alpha1.JobWatch{Spec: spec}
	jw.Name, jw.Namespace = name, w.ns
	Expect(k8s.Create(ctx, jw)).To(Succeed())
	return jw
}

// synced waits for the watch's next completed sync after the one it has now,
// asking for it with the request annotation, and returns the watch.
func synced(jw *civ1alpha1.JobWatch) *civ1alpha1.JobWatch {
	GinkgoHelper()
	got := &civ1alpha1.JobWatch{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(jw), got)).To(Succeed())
	request := fmt.Sprint(time.Now().UnixNano())
	if got.Status.LastSyncTime != nil {
		patch := client.MergeFrom(got.DeepCopy())
		if got.Annotations == nil {
			got.Annotations = map[string]string{}
		}
		got.Annotations[civ1alpha1.SyncRequestAnnotation] = request
		Expect(k8s.Patch(ctx, got, patch)).To(Succeed())
	}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(jw), got)).To(Succeed())
		g.Expect(got.Status.LastSyncTime).NotTo(BeNil())
		if got.Annotations[civ1alpha1.SyncRequestAnnotation] != "" {
			g.Expect(got.Status.LastHandledRequest).To(Equal(request))
		}
		g.Expect(findTrue(got.Status.Conditions, civ1alpha1.ConditionReady)).NotTo(BeNil(), "%+v", got.Status.Conditions)
	}).Should(Succeed())
	return got
}

func ruleCounters(jw *civ1alpha1.JobWatch, name string) civ1alpha1.RuleStatus {
	for _, r := range jw.Status.Rules {
		if r.Name == name {
			return r
		}
	}
	return civ1alpha1.RuleStatus{}
}

func retryRule(name string, maxRetries int32, reasons ...string) civ1alpha1.WatchRule {
	return civ1alpha1.WatchRule{Name: name, Action: civ1alpha1.ActionRetry,
		Match: civ1alpha1.RuleMatch{FailureReasons: reasons}, Retry: &civ1alpha1.RetryPolicy{MaxRetries: maxRetries}}
}

// failLatest fails the newest attempt of name in the pipeline, as a runner would.
func failLatest(pipelineID int64, name, reason string) int64 {
	GinkgoHelper()
	job, ok := sim.LatestAttempt(pipelineID, name)
	Expect(ok).To(BeTrue())
	_, err := sim.SetJobStatus(job.ID, "running", "")
	Expect(err).NotTo(HaveOccurred())
	_, err = sim.SetJobStatus(job.ID, "failed", reason)
	Expect(err).NotTo(HaveOccurred())
	return job.ID
}

func attempts(pipelineID int64, name string) int {
	GinkgoHelper()
	jobs, err := sim.PipelineJobs(pipelineID)
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, j := range jobs {
		if j.Name == name {
			n++
		}
	}
	return n
}

var _ = Describe("JobWatch", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })
	AfterEach(func() { sim.ClearFaults() })

	It("retries infrastructure failures within the budget GitLab counts, including human retries", func() {
		p := w.pipeline(
			gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "runner_system_failure"},
			gitlabsim.JobSpec{Name: "lint", Status: "failed", FailureReason: "script_failure"})
		jw := w.watch("flaky", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{retryRule("infra", 2, "runner_system_failure")}})

		got := synced(jw)
		Expect(attempts(p.ID, "rspec")).To(Equal(2), "first retry")
		Expect(attempts(p.ID, "lint")).To(Equal(1), "script failures are not this rule's")
		Expect(got.Status.RecentActions).To(HaveLen(1))
		Expect(got.Status.RecentActions[0]).To(And(HaveField("JobID", p.Jobs[0].ID), HaveField("Outcome", civ1alpha1.OutcomeSucceeded)))

		// A person retries the new attempt after it fails: that spends the budget too.
		second := failLatest(p.ID, "rspec", "runner_system_failure")
		humanRetry(w, second)
		Expect(attempts(p.ID, "rspec")).To(Equal(3))
		failLatest(p.ID, "rspec", "runner_system_failure")

		got = synced(jw)
		Expect(attempts(p.ID, "rspec")).To(Equal(3), "2 retries used: the budget is spent")
		Expect(ruleCounters(got, "infra").SkippedBudget).To(Equal(int64(1)))
		Expect(ruleCounters(got, "infra").Acted).To(Equal(int64(1)))

		// The budget holds for a re-created watch: GitLab keeps the count.
		Expect(k8s.Delete(ctx, jw)).To(Succeed())
		jw2 := w.watch("flaky-again", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{retryRule("infra", 2, "runner_system_failure")}})
		synced(jw2)
		Expect(attempts(p.ID, "rspec")).To(Equal(3))
	})

	It("waits for the backoff before retrying", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "e2e", Status: "failed", FailureReason: "stuck_or_timeout_failure"})
		rule := retryRule("timeouts", 3, "stuck_or_timeout_failure")
		rule.Retry.Backoff = &civ1alpha1.Backoff{InitialSeconds: 3, Factor: 2, MaxSeconds: 60}
		jw := w.watch("backoff", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{rule}})
		got := synced(jw)
		Expect(attempts(p.ID, "e2e")).To(Equal(1), "the backoff has not passed")
		Expect(got.Status.Cursor.OldestOpenJobID).To(Equal(p.Jobs[0].ID), "the waiting job keeps the scan open")
		// The watch requeues itself for the end of the backoff, well before its interval.
		Eventually(func() int { return attempts(p.ID, "e2e") }, 10*time.Second).Should(Equal(2))
	})

	It("in dry-run records what it would do and makes no mutating call", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "runner_system_failure"},
			gitlabsim.JobSpec{Name: "deploy", When: "manual"})
		jw := w.watch("dry", civ1alpha1.JobWatchSpec{DryRun: true, Rules: []civ1alpha1.WatchRule{
			retryRule("infra", 2, "runner_system_failure"),
			{Name: "deploy", Action: civ1alpha1.ActionPlay, Match: civ1alpha1.RuleMatch{Names: []string{"deploy"}}}}})
		got := synced(jw)
		got = synced(got)
		Expect(got.Status.RecentActions).To(HaveLen(2), "each job is recorded once, not at every sync")
		for _, a := range got.Status.RecentActions {
			Expect(a.Outcome).To(Equal(civ1alpha1.OutcomeDryRun))
		}
		Expect(ruleCounters(got, "infra").SkippedDryRun).To(Equal(int64(1)))
		Expect(mutationsOf(w.project)).To(BeZero())
		Expect(actions(p.Jobs[0].ID)).To(BeZero())
		Expect(actions(p.Jobs[1].ID)).To(BeZero())
	})

	It("takes at most maxActionsPerSync actions an interval and leaves the rest for the next", func() {
		var jobs []gitlabsim.JobSpec
		for i := range 5 {
			jobs = append(jobs, gitlabsim.JobSpec{Name: fmt.Sprintf("shard-%d", i), Status: "failed", FailureReason: "runner_system_failure"})
		}
		p := w.pipeline(jobs...)
		jw := w.watch("guard", civ1alpha1.JobWatchSpec{MaxActionsPerSync: 2, Rules: []civ1alpha1.WatchRule{retryRule("infra", 1, "runner_system_failure")}})
		got := synced(jw)
		Expect(got.Status.LastSync.Actions).To(Equal(int32(2)))
		Expect(ruleCounters(got, "infra").SkippedGuard).To(Equal(int64(3)))
		Expect(actions(p.Jobs[0].ID).Retry+actions(p.Jobs[1].ID).Retry).To(Equal(int64(2)), "oldest first")
		Expect(got.Status.NextSyncTime.Time).To(BeTemporally(">=", got.Status.ActionWindow.Start.Add(time.Hour)),
			"the jobs held back wait for the next interval, not for a second")

		got = synced(got)
		Expect(got.Status.LastSync.Actions).To(BeZero(), "a sync requested inside the interval finds its budget spent")
		retried := int64(0)
		for _, j := range p.Jobs {
			retried += actions(j.ID).Retry
		}
		Expect(retried).To(Equal(int64(2)))
		// jobwatch_guard_test.go moves a clock past the interval and sees the rest retried.
	})

	It("suspended, makes no request", func() {
		w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "runner_system_failure"})
		jw := w.watch("suspended", civ1alpha1.JobWatchSpec{Suspend: true, Rules: []civ1alpha1.WatchRule{retryRule("infra", 2, "runner_system_failure")}})
		Eventually(func(g Gomega) {
			got := &civ1alpha1.JobWatch{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(jw), got)).To(Succeed())
			g.Expect(got.Status.Conditions).To(ContainElement(And(HaveField("Type", civ1alpha1.ConditionReady), HaveField("Reason", civ1alpha1.ReasonSuspended))))
		}).Should(Succeed())
		Consistently(func() int64 { return projectRequestsOf(w.project, listRoute) }, 2*time.Second).Should(BeZero())
	})

	It("is Stalled with the position of the error for an invalid log pattern", func() {
		jw := w.watch("badpattern", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{{Name: "net", Action: civ1alpha1.ActionRetry,
			Match: civ1alpha1.RuleMatch{LogPattern: "connection (reset|refused"}}}})
		Eventually(func(g Gomega) {
			got := &civ1alpha1.JobWatch{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(jw), got)).To(Succeed())
			c := findTrue(got.Status.Conditions, civ1alpha1.ConditionStalled)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(civ1alpha1.ReasonInvalidLogPattern))
			g.Expect(c.Message).To(And(ContainSubstring("net"), ContainSubstring("missing closing )")))
		}).Should(Succeed())
	})

	It("retries a job whose 50 MB log ends with a network error, reading only its tail", func() {
		p := w.pipeline(
			gitlabsim.JobSpec{Name: "bundle", Status: "failed", FailureReason: "script_failure", TraceBytes: 50 << 20},
			gitlabsim.JobSpec{Name: "unit", Status: "failed", FailureReason: "script_failure", Trace: "3 examples, 1 failure"},
			gitlabsim.JobSpec{Name: "early", Status: "failed", FailureReason: "script_failure", TraceBytes: 1 << 20,
				Trace: "Could not resolve host: early in the log, then a megabyte of output"})
		Expect(sim.AppendJobLog(p.Jobs[0].ID, "fatal: unable to access: Could not resolve host: rubygems.org\n")).To(Succeed())
		jw := w.watch("network", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{{Name: "network", Action: civ1alpha1.ActionRetry,
			Match: civ1alpha1.RuleMatch{FailureReasons: []string{"script_failure"}, LogPattern: `(?i)could not resolve host`}}}})
		got := synced(jw)
		Expect(actions(p.Jobs[0].ID).Retry).To(Equal(int64(1)))
		Expect(actions(p.Jobs[1].ID).Retry).To(BeZero())
		Expect(actions(p.Jobs[2].ID).Retry).To(BeZero(), "only the last 64 KiB of a log is matched")
		Expect(ruleCounters(got, "network").Acted).To(Equal(int64(1)))
	})

	It("plays, cancels and erases with their rules", func() {
		old := time.Now().Add(-2 * time.Hour)
		p := w.pipeline(
			gitlabsim.JobSpec{Name: "deploy-staging", When: "manual"},
			gitlabsim.JobSpec{Name: "docker", Status: "pending", CreatedAt: &old},
			gitlabsim.JobSpec{Name: "fresh", Status: "pending"},
			gitlabsim.JobSpec{Name: "build", Status: "success", Trace: "ok", Artifacts: true, FinishedAt: &old, StartedAt: &old, CreatedAt: &old})
		jw := w.watch("all", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{
			{Name: "play", Action: civ1alpha1.ActionPlay, Match: civ1alpha1.RuleMatch{Names: []string{"deploy-*"}, Refs: []string{"main"}}},
			{Name: "stuck", Action: civ1alpha1.ActionCancel, Match: civ1alpha1.RuleMatch{MinAgeSeconds: 900}},
			{Name: "retention", Action: civ1alpha1.ActionErase, Match: civ1alpha1.RuleMatch{MinAgeSeconds: 3600}}}})
		got := synced(jw)
		Expect(actions(p.Jobs[0].ID).Play).To(Equal(int64(1)))
		Expect(actions(p.Jobs[1].ID).Cancel).To(Equal(int64(1)))
		Expect(actions(p.Jobs[2].ID).Cancel).To(BeZero(), "pending for less than 15 minutes")
		Expect(actions(p.Jobs[3].ID).Erase).To(Equal(int64(1)))
		Expect(got.Status.TotalActions).To(Equal(int64(3)))
		synced(got)
		for _, j := range p.Jobs {
			c := actions(j.ID)
			Expect(c.Play+c.Cancel+c.Erase).To(BeNumerically("<=", 1), j.Name)
		}
	})

	It("retries a job it played when that run fails", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "deploy-staging", When: "manual"})
		jw := w.watch("play-then-retry", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{
			{Name: "play", Action: civ1alpha1.ActionPlay, Match: civ1alpha1.RuleMatch{Names: []string{"deploy-*"}}},
			retryRule("infra", 1, "runner_system_failure")}})
		got := synced(jw)
		Expect(actions(p.Jobs[0].ID).Play).To(Equal(int64(1)))
		Expect(got.Status.Cursor.OldestOpenJobID).To(Equal(p.Jobs[0].ID), "the played job runs on")
		failLatest(p.ID, "deploy-staging", "runner_system_failure")
		synced(got)
		Expect(actions(p.Jobs[0].ID).Retry).To(Equal(int64(1)))
	})

	It("adopts a retry whose response was lost instead of retrying twice", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "runner_system_failure"})
		Expect(w.faults(gitlabsim.Faults{LoseResponseRate: 1, Count: 1, Routes: []string{retryRoute}})).To(Succeed())
		jw := w.watch("lost", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{retryRule("infra", 3, "runner_system_failure")}})
		Eventually(func(g Gomega) {
			got := &civ1alpha1.JobWatch{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(jw), got)).To(Succeed())
			g.Expect(got.Status.RecentActions).To(ContainElement(HaveField("Outcome", civ1alpha1.OutcomeAdopted)))
			g.Expect(got.Status.PendingActions).To(BeEmpty())
		}).Should(Succeed())
		Expect(actions(p.Jobs[0].ID).Retry).To(Equal(int64(1)))
		Expect(attempts(p.ID, "rspec")).To(Equal(2))
	})

	It("costs one request a sync on a 10,000-job project with nothing new", func() {
		jobs := make([]gitlabsim.JobSpec, 10000)
		for i := range jobs {
			jobs[i] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%d", i), Status: "success"}
		}
		w.pipeline(jobs...)
		jw := w.watch("big", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{retryRule("infra", 2, "runner_system_failure")}})
		got := synced(jw)
		Expect(got.Status.LastSync.JobsScanned).To(Equal(int32(1000)), "a new watch reads the newest 1000 jobs")
		before := projectRequestsOf(w.project)
		got = synced(got)
		Expect(projectRequestsOf(w.project) - before).To(BeNumerically("<=", 2))
		Expect(got.Status.LastSync.Requests).To(Equal(int32(1)))
		Expect(got.Status.LastSync.JobsScanned).To(BeZero())

		// k new failures cost about 1 + k/100 list requests, plus one pipeline read each.
		p := w.pipeline(gitlabsim.JobSpec{Name: "new", Status: "failed", FailureReason: "runner_system_failure"})
		got = synced(got)
		Expect(got.Status.LastSync.Requests).To(BeNumerically("<=", 3))
		Expect(actions(p.Jobs[0].ID).Retry).To(Equal(int64(1)))
	})
})

var _ = Describe("JobWatch steady state", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })

	It("reads each finished job's log and pipeline once, whatever holds the window open", func() {
		p := w.pipeline(gitlabsim.JobSpec{Name: "rspec", Status: "failed", FailureReason: "runner_system_failure"})
		humanRetry(w, p.Jobs[0].ID)
		failLatest(p.ID, "rspec", "runner_system_failure")             // the budget of 1 is spent
		w.pipeline(gitlabsim.JobSpec{Name: "slow", Status: "pending"}) // no rule: holds the window open
		var units []int64
		for i := range 3 {
			u := w.pipeline(gitlabsim.JobSpec{Name: fmt.Sprintf("unit-%d", i), Status: "failed", FailureReason: "script_failure", Trace: "1 example, 1 failure"})
			units = append(units, u.Jobs[0].ID)
		}
		jw := w.watch("steady", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{
			retryRule("infra", 1, "runner_system_failure"),
			{Name: "network", Action: civ1alpha1.ActionRetry, Match: civ1alpha1.RuleMatch{FailureReasons: []string{"script_failure"},
				LogPattern: "(?i)could not resolve host"}}}})
		traces := func() int64 { return jobRequestsOf(gitlabsim.RouteTrace, units...) }
		got := synced(jw)
		Expect(traces()).To(Equal(int64(3)), "each script failure's log, once")
		Expect(got.Status.Cursor.OldestOpenJobID).NotTo(BeZero(), "the pending job holds the window open")
		for range 3 {
			got = synced(got)
			Expect(got.Status.LastSync.Requests).To(Equal(int32(1)), "one list request, no log or pipeline read again")
		}
		Expect(traces()).To(Equal(int64(3)))
		Expect(ruleCounters(got, "infra").SkippedBudget).To(Equal(int64(1)), "the spent budget is counted once, not at every sync")
	})

	It("announces each job it acts on with an event of its own", func() {
		var jobs []gitlabsim.JobSpec
		for i := range 12 {
			jobs = append(jobs, gitlabsim.JobSpec{Name: fmt.Sprintf("shard-%d", i), Status: "failed", FailureReason: "runner_system_failure"})
		}
		p := w.pipeline(jobs...)
		jw := w.watch("audit", civ1alpha1.JobWatchSpec{MaxActionsPerSync: 12, Rules: []civ1alpha1.WatchRule{retryRule("infra", 1, "runner_system_failure")}})
		synced(jw)
		want := make([]string, 0, len(p.Jobs))
		for _, j := range p.Jobs {
			want = append(want, fmt.Sprintf("Retry job %d (%s)", j.ID, j.Name))
		}
		Eventually(func(g Gomega) {
			var notes []string
			for _, e := range events(w.ns, "audit") {
				if e.Type == corev1.EventTypeNormal && e.Reason == "SucceededRetry" {
					notes = append(notes, e.Note)
				}
			}
			g.Expect(notes).To(HaveLen(12))
			for _, n := range want {
				g.Expect(notes).To(ContainElement(ContainSubstring(n)))
			}
		}).Should(Succeed())
	})
})

// humanRetry retries a job as a person would, through the GitLab API.
func humanRetry(w *world, jobID int64) {
	GinkgoHelper()
	req, err := newAPIRequest("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/retry", w.project.ID, jobID))
	Expect(err).NotTo(HaveOccurred())
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
	Expect(resp.StatusCode).To(Equal(201))
}

var _ = Describe("JobWatch over a project's history", func() {
	var w *world
	BeforeEach(func() { w = newWorld() })

	const day = 24 * time.Hour
	retention := func(name string, age time.Duration, names ...string) civ1alpha1.WatchRule {
		return civ1alpha1.WatchRule{Name: name, Action: civ1alpha1.ActionErase, Match: civ1alpha1.RuleMatch{
			Statuses: []civ1alpha1.JobStatus{"failed"}, Names: names, MinAgeSeconds: int64(age / time.Second)}}
	}
	caughtUp := func(jw *civ1alpha1.JobWatch) bool {
		for _, h := range jw.Status.History {
			if !h.CaughtUp {
				return false
			}
		}
		return len(jw.Status.History) > 0
	}

	It("erases every failed job older than 30 days of a 5,000-job project exactly once, a bounded number of requests a sync, then costs one request", func() {
		// 250 pipelines of 20 jobs over 50 days; every fifth has a failed job.
		var pipelines []int64
		start := time.Now().Add(-50 * day)
		for i := range 250 {
			created := start.Add(time.Duration(i) * 50 * day / 250)
			jobs := make([]gitlabsim.JobSpec, 20)
			for j := range jobs {
				jobs[j] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%02d", j), Status: "success"}
			}
			if i%5 == 0 {
				jobs[0] = gitlabsim.JobSpec{Name: "flaky", Status: "failed", FailureReason: "script_failure", Trace: "boom"}
			}
			p, err := sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: w.project.ID, CreatedAt: &created, Jobs: jobs})
			Expect(err).NotTo(HaveOccurred())
			pipelines = append(pipelines, p.ID)
		}
		jw := w.watch("retention", civ1alpha1.JobWatchSpec{MaxActionsPerSync: 50, Rules: []civ1alpha1.WatchRule{retention("failed-logs", 30*day)}})

		// 100 pipelines are older than 30 days; the walk reads up to 20 requests'
		// worth a sync, one of them a page of the pipelines list.
		got, syncs := synced(jw), 1
		for ; !caughtUp(got) && syncs < 20; syncs++ {
			Expect(got.Status.LastSync.Requests).To(BeNumerically("<=", 1+20+1+50), "requests of sync %d", syncs)
			got = synced(got)
		}
		Expect(caughtUp(got)).To(BeTrue(), "%+v", got.Status.History)
		Expect(syncs).To(BeNumerically("<=", 8), "100 pipelines at about 18 a sync")

		erased := 0
		for _, id := range pipelines {
			jobs, err := sim.PipelineJobs(id)
			Expect(err).NotTo(HaveOccurred())
			for _, j := range jobs {
				want := int64(0)
				if j.Status == "failed" && time.Since(*j.FinishedAt) >= 30*day {
					want = 1
				}
				Expect(actions(j.ID).Erase).To(Equal(want), "job %d, finished %s ago", j.ID, time.Since(*j.FinishedAt).Round(time.Hour))
				erased += int(want)
			}
		}
		Expect(erased).To(Equal(20), "the failed jobs of the first 100 pipelines")
		Expect(ruleCounters(got, "failed-logs").Acted).To(Equal(int64(20)))

		for range 3 {
			got = synced(got)
			Expect(got.Status.LastSync.Requests).To(Equal(int32(1)), "caught up: the scan of new jobs, and nothing else")
		}
	})

	It("erases a job when it comes of age, by the walk's own schedule", func() {
		old := time.Now().Add(-time.Hour)
		before := w.pipeline(gitlabsim.JobSpec{Name: "flaky", Status: "failed", Trace: "old", CreatedAt: &old, StartedAt: &old, FinishedAt: &old})
		fresh := w.pipeline(gitlabsim.JobSpec{Name: "flaky", Status: "failed", Trace: "new"})
		jw := w.watch("coming-of-age", civ1alpha1.JobWatchSpec{Rules: []civ1alpha1.WatchRule{retention("failed-logs", 20*time.Second)}})

		got := synced(jw)
		Expect(actions(before.Jobs[0].ID).Erase).To(Equal(int64(1)))
		Expect(actions(fresh.Jobs[0].ID).Erase).To(BeZero(), "finished less than 20 seconds ago")
		Expect(got.Status.History).NotTo(BeEmpty())
		Expect(got.Status.History[0].NextTime).NotTo(BeNil(), "the walk sleeps until the pipeline comes of age")

		// The interval is an hour: only the walk's own schedule brings the watch back.
		Eventually(func() int64 { return actions(fresh.Jobs[0].ID).Erase }, 40*time.Second, time.Second).Should(Equal(int64(1)))
		Consistently(func() int64 { return actions(before.Jobs[0].ID).Erase + actions(fresh.Jobs[0].ID).Erase }, 3*time.Second).Should(Equal(int64(2)))
	})
})
