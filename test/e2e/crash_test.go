package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// Exactly once, the operator's first promise, where it is hardest: the
// manager is SIGKILLed again and again while it works, with requests in
// flight, and GitLab's own record must show each job acted on once.
var _ = Describe("the manager crashing", Serial, func() {
	It("acts on each JobAction's job exactly once across SIGKILLs and restarts", func(ctx SpecContext) {
		const perAction = 15
		w, _ := startCrashWorld(ctx, "crash-jobactions")

		By("making a project with running jobs to cancel and failed jobs to retry")
		project, err := w.sim.Admin.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: "crash/app"})
		Expect(err).NotTo(HaveOccurred())
		spec := gitlabsim.PipelineSpec{ProjectID: project.ID, Ref: "main"}
		for i := range perAction {
			spec.Jobs = append(spec.Jobs,
				gitlabsim.JobSpec{Name: fmt.Sprintf("run-%02d", i), Status: gitlabsim.StatusRunning, Stuck: true},
				gitlabsim.JobSpec{Name: fmt.Sprintf("fail-%02d", i), Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonScriptFailure})
		}
		pipeline, err := w.sim.Admin.CreatePipeline(ctx, spec)
		Expect(err).NotTo(HaveOccurred())
		want := map[int64]gitlabsim.ActionCounts{}
		var manifests []string
		for _, j := range pipeline.Jobs {
			action, counts := "Retry", gitlabsim.ActionCounts{Retry: 1}
			if strings.HasPrefix(j.Name, "run-") {
				action, counts = "Cancel", gitlabsim.ActionCounts{Cancel: 1}
			}
			want[j.ID] = counts
			manifests = append(manifests, fmt.Sprintf(`apiVersion: ci.jobops.dev/v1alpha1
kind: JobAction
metadata:
  name: %s
spec:
  connectionRef: {name: gitlab}
  project: crash/app
  action: %s
  pipelineID: %d
  jobName: %s
`, j.Name, action, pipeline.ID, j.Name))
		}
		// Each mutating call takes a while in GitLab, so some kills cut one
		// off after GitLab has acted but before the manager hears back.
		_, err = w.sim.Admin.SetFaults(ctx, gitlabsim.Faults{LatencyMS: 150, Methods: []string{"POST"}})
		Expect(err).NotTo(HaveOccurred())

		By("creating the JobActions and killing the manager 4 times while it works")
		apply(ctx, w.ns, strings.Join(manifests, "---\n"))
		kills := crashLoop(ctx, w, 4, rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 1)))
		Expect(kills[0].actions).To(BeNumerically("<", len(want)), "the first kill came after all the work: the test proved nothing")

		By("seeing every JobAction complete")
		run(ctx, "wait", "--for=condition=Complete", "jobactions", "--all", "-n", w.ns, "--timeout=120s")
		for name, ja := range w.jobActions(ctx) {
			Expect(ja.Status.ResultJob).NotTo(BeNil(), name)
			if ja.Spec.Action == civ1alpha1.ActionRetry {
				Expect(trueCondition(ja.Status.Conditions, "Complete")).To(Equal("Complete/JobSucceeded"), name)
				Expect(ja.Status.ResultJob.ID).NotTo(Equal(ja.Status.TargetJob.ID), name)
			} else {
				Expect(trueCondition(ja.Status.Conditions, "Complete")).To(Equal("Complete/Succeeded"), name)
				Expect(ja.Status.ResultJob.Status).To(BeElementOf("canceling", "canceled"), name)
			}
		}

		By("checking in GitLab that each job was acted on exactly once, and no other")
		st, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Actions).To(Equal(want))
		// Not asserted (the kills are random), but worth seeing: how often a
		// restarted manager found an action done and adopted it.
		log, err := os.ReadFile(w.manager.Process().LogPath())
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("%d actions adopted after a crash; %d GitLab requests in all\n",
			strings.Count(string(log), "Adopting an action GitLab already performed"), st.TotalRequests)
	}, NodeTimeout(4*time.Minute))
})

// kill is what a crashLoop saw when it killed the manager.
type kill struct {
	after    time.Duration // since the loop started
	requests int64         // GitLab requests so far
	actions  int           // jobs acted on so far
}

// crashLoop SIGKILLs the world's manager n times and starts it again each
// time. Each kill waits until the (re)started manager has sent GitLab at
// least one request, then a random 100-700 ms, so that it lands while the
// manager works, not while it starts. The kills are logged and returned, for
// a spec to check that they hit work in progress. JobActions and JobWatches
// alike can be crash-tested with it.
func crashLoop(ctx context.Context, w *world, n int, rng *rand.Rand) []kill {
	GinkgoHelper()
	start := time.Now()
	var kills []kill
	for i := range n {
		before, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) int64 {
			st, err := w.sim.Admin.Stats(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			return st.TotalRequests
		}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(20*time.Millisecond).
			Should(BeNumerically(">", before.TotalRequests), "the manager sent GitLab nothing after starting")
		time.Sleep(time.Duration(100+rng.IntN(600)) * time.Millisecond)

		w.manager.Kill()
		st, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		k := kill{after: time.Since(start), requests: st.TotalRequests, actions: len(st.Actions)}
		kills = append(kills, k)
		GinkgoWriter.Printf("kill %d at %s: %d GitLab requests, %d jobs acted on\n", i+1, k.after.Round(time.Millisecond), k.requests, k.actions)
		Expect(w.manager.Start(ctx)).To(Succeed())
	}
	return kills
}

// startCrashWorld starts an empty simulator whose runner ends retried and
// played jobs within a second, and a connection "gitlab" for a new user,
// whose token it returns. A
// modest rate limit spreads the work over seconds, so that the kills land in
// the middle of it rather than after it.
func startCrashWorld(ctx context.Context, name string) (*world, string) {
	GinkgoHelper()
	w := startWorld(ctx, name, worldOptions{
		simWorld:  "empty",
		lifecycle: &devenv.Lifecycle{Pending: 200 * time.Millisecond, Running: 500 * time.Millisecond},
	})
	token := devenv.RandomToken("glpat-" + name + "-")
	_, err := w.sim.Admin.CreateUser(ctx, gitlabsim.UserSpec{Username: "operator", Token: token})
	Expect(err).NotTo(HaveOccurred())
	w.connect(ctx, token, "  requestsPerSecond: 10\n  burst: 10\n")
	return w, token
}
