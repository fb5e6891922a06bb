package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// A JobWatch keeps the exactly-once promise across crashes too, and its retry
// budget with it: GitLab's own record (the simulator's action counters and a
// pipeline's attempts, include_retried) must show each job attempt acted on
// once, and each job name retried exactly as often as maxRetries allows,
// however often the manager was SIGKILLed mid-sync and mid-action.
var _ = Describe("the manager crashing under a JobWatch", Serial, func() {
	It("retries, plays and cancels each job attempt exactly once, within the retry budget, across SIGKILLs and lost responses", func(ctx SpecContext) {
		const (
			flaky      = 20
			manual     = 5
			queued     = 5
			maxRetries = 3
		)
		w, token := startCrashWorld(ctx, "crash-jobwatch")

		By("making a project with failed jobs that fail again some times, manual jobs and jobs pending for an hour")
		project, err := w.sim.Admin.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: "crash/watch"})
		Expect(err).NotTo(HaveOccurred())
		anHourAgo := time.Now().UTC().Add(-time.Hour)
		spec := gitlabsim.PipelineSpec{ProjectID: project.ID, Ref: "main"}
		// failures[name] is how many times the job fails in all (the first
		// attempt included) before it passes; maxRetries+1 means it never does.
		failures := map[string]int{}
		rsf := gitlabsim.Outcome{Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonRunnerSystemFailure}
		pass := gitlabsim.Outcome{Status: gitlabsim.StatusSuccess}
		for i := range flaky {
			name := fmt.Sprintf("flaky-%02d", i)
			// 1, 2 or 3 failures then success, or failing for good.
			var outcomes []gitlabsim.Outcome
			switch i % 4 {
			case 0:
				outcomes = []gitlabsim.Outcome{pass}
			case 1:
				outcomes = []gitlabsim.Outcome{rsf, pass}
			case 2:
				outcomes = []gitlabsim.Outcome{rsf, rsf, pass}
			case 3:
				outcomes = []gitlabsim.Outcome{rsf} // the last outcome repeats
			}
			failures[name] = len(outcomes)
			if i%4 == 3 {
				failures[name] = maxRetries + 1
			}
			spec.Jobs = append(spec.Jobs, gitlabsim.JobSpec{Name: name, Status: gitlabsim.StatusFailed,
				FailureReason: gitlabsim.ReasonRunnerSystemFailure, Outcomes: outcomes})
		}
		for i := range manual {
			spec.Jobs = append(spec.Jobs, gitlabsim.JobSpec{Name: fmt.Sprintf("deploy-%02d", i), Stage: "deploy", When: "manual"})
		}
		for i := range queued {
			spec.Jobs = append(spec.Jobs, gitlabsim.JobSpec{Name: fmt.Sprintf("queued-%02d", i), Stage: "build",
				Status: gitlabsim.StatusPending, Stuck: true, CreatedAt: &anHourAgo})
		}
		pipeline, err := w.sim.Admin.CreatePipeline(ctx, spec)
		Expect(err).NotTo(HaveOccurred())

		// Each mutating call takes a while in GitLab, so some kills cut one
		// off after GitLab has acted but before the manager hears back; and
		// some answers are lost outright, so the next sync must adopt them.
		// The dice are seeded: of the first 12 POSTs, the 1st, 3rd, 5th and
		// 11th lose their answers, whatever the timing.
		const lostAnswers = 4
		_, err = w.sim.Admin.SetFaults(ctx, gitlabsim.Faults{LatencyMS: 150, Methods: []string{"POST"},
			LoseResponseRate: 0.4, Count: 12, Seed: 1})
		Expect(err).NotTo(HaveOccurred())

		By("creating the JobWatch, asking for a sync whenever the last one is done")
		apply(ctx, w.ns, `apiVersion: ci.jobops.dev/v1alpha1
kind: JobWatch
metadata:
  name: crash
spec:
  connectionRef: {name: gitlab}
  project: crash/watch
  intervalSeconds: 10
  maxActionsPerSync: 10
  rules:
  - name: infra-failures
    action: Retry
    match:
      failureReasons: [runner_system_failure]
      names: [flaky-*]
    retry:
      maxRetries: `+strconv.Itoa(maxRetries)+`
      backoff: {initialSeconds: 1, factor: 2, maxSeconds: 2}
  - name: play-deploys
    action: Play
    match:
      names: [deploy-*]
  - name: cancel-queued
    action: Cancel
    match:
      names: [queued-*]
      minAgeSeconds: 600
`)
		stopPoking := pokeSyncs(ctx, w, "crash")
		defer stopPoking()

		By("killing the manager 5 times while it works")
		rng := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 2))
		kills := crashLoop(ctx, w, 2, rng)
		// Then, once the 12 POSTs have had their dice, latency only.
		Eventually(func(g Gomega) int {
			fs, err := w.sim.Admin.Faults(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			return fs.Remaining
		}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(50 * time.Millisecond).Should(BeZero())
		_, err = w.sim.Admin.SetFaults(ctx, gitlabsim.Faults{LatencyMS: 150, Methods: []string{"POST"}})
		Expect(err).NotTo(HaveOccurred())
		kills = append(kills, crashLoop(ctx, w, 3, rng)...)

		// Every retried attempt, and the last one of each name, plus the
		// played and canceled jobs: the jobs GitLab must show acted on.
		wantRetries := 0
		for _, f := range failures {
			wantRetries += min(maxRetries, f)
		}
		wantActed := wantRetries + manual + queued
		Expect(kills[0].actions).To(BeNumerically("<", wantActed), "the first kill came after all the work: the test proved nothing")
		Expect(kills[len(kills)-1].actions).To(BeNumerically("<", wantActed), "the last kill came after all the work")

		By("waiting until every job name has spent its budget or passed, and the watch is idle")
		attempts := func(g Gomega) map[string][]apiJob {
			jobs, err := pipelineJobs(ctx, w.sim.URL, token, project.ID, pipeline.ID)
			g.Expect(err).NotTo(HaveOccurred())
			byName := map[string][]apiJob{}
			for _, j := range jobs {
				byName[j.Name] = append(byName[j.Name], j)
			}
			return byName
		}
		Eventually(func(g Gomega) {
			byName := attempts(g)
			for name, f := range failures {
				g.Expect(byName[name]).To(HaveLen(1+min(maxRetries, f)), name)
				g.Expect(newest(byName[name]).Status).To(BeElementOf("success", "failed"), name)
			}
			for name, js := range byName {
				switch {
				case strings.HasPrefix(name, "deploy-"):
					g.Expect(js[0].Status).To(Equal("success"), name)
				case strings.HasPrefix(name, "queued-"):
					g.Expect(js[0].Status).To(Equal("canceled"), name)
				}
			}
			jw := w.jobWatch(ctx, "crash")
			g.Expect(jw.Status.PendingActions).To(BeEmpty())
			g.Expect(trueCondition(jw.Status.Conditions, "Ready")).To(Equal("Ready/Succeeded"))
		}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(time.Second).Should(Succeed())

		By("asking for one more sync, which must find nothing left to do")
		stopPoking()
		run(ctx, "annotate", "--overwrite", "jobwatch/crash", "-n", w.ns, "ci.jobops.dev/requested-at=final")
		run(ctx, "wait", "--for=jsonpath={.status.lastHandledRequest}=final", "jobwatch/crash", "-n", w.ns, "--timeout=60s")

		By("checking in GitLab that each attempt was acted on once, and the budget spent exactly")
		byName := attempts(Default)
		st, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		want := map[int64]gitlabsim.ActionCounts{}
		for name, js := range byName {
			last := newest(js)
			switch {
			case strings.HasPrefix(name, "flaky-"):
				f := failures[name]
				Expect(js).To(HaveLen(1+min(maxRetries, f)), "%s: attempts", name)
				for _, j := range js {
					if j.ID != last.ID {
						Expect(j.Status).To(Equal("failed"), "%s: job %d was retried though it had not failed", name, j.ID)
						want[j.ID] = gitlabsim.ActionCounts{Retry: 1}
					}
				}
				if f > maxRetries {
					Expect(last.Status).To(Equal("failed"), "%s: the last attempt", name)
				} else {
					Expect(last.Status).To(Equal("success"), "%s: the last attempt", name)
				}
			case strings.HasPrefix(name, "deploy-"):
				Expect(js).To(HaveLen(1), name)
				want[last.ID] = gitlabsim.ActionCounts{Play: 1}
			case strings.HasPrefix(name, "queued-"):
				Expect(js).To(HaveLen(1), name)
				want[last.ID] = gitlabsim.ActionCounts{Cancel: 1}
			}
		}
		Expect(want).To(HaveLen(wantActed))
		Expect(st.Actions).To(Equal(want), "GitLab's actions per job id")

		By("reading the same in the JobWatch's status")
		jw := w.jobWatch(ctx, "crash")
		Expect(trueCondition(jw.Status.Conditions, "Ready")).To(Equal("Ready/Succeeded"))
		Expect(jw.Status.PendingActions).To(BeEmpty())
		Expect(jw.Status.TotalActions).To(BeEquivalentTo(wantActed))
		acted := map[string]int64{}
		for _, r := range jw.Status.Rules {
			acted[r.Name] = r.Acted
			Expect(r.Refused).To(BeZero(), r.Name)
		}
		Expect(acted).To(Equal(map[string]int64{"infra-failures": int64(wantRetries), "play-deploys": manual, "cancel-queued": queued}))

		// Each lost answer left a pending action that a later sync found done
		// in GitLab and adopted rather than repeated; a kill after a call, or
		// a status write that lost a race, can add more.
		lost := int64(0)
		for _, route := range st.Routes() {
			if strings.HasPrefix(route, "POST ") {
				lost += st.Count(route, http.StatusBadGateway)
			}
		}
		Expect(lost).To(BeEquivalentTo(lostAnswers), "answers lost")
		adopted := adoptedJobs(w.manager.Process().LogPath())
		GinkgoWriter.Printf("%d answers lost, %d jobs' actions adopted, %d kills; %d GitLab requests in all\n",
			lost, len(adopted), len(kills), st.TotalRequests)
		Expect(len(adopted)).To(BeNumerically(">=", lost), "a lost answer was not adopted")
		for id := range adopted {
			Expect(want).To(HaveKey(id), "adopted an action on job %d, which GitLab shows no action on", id)
		}
	}, NodeTimeout(4*time.Minute))
})

// pokeSyncs asks the JobWatch for a sync (the requested-at annotation) as soon
// as it has answered the previous request, or every 3 s if it does not (a
// failed sync, a manager being restarted), so that syncs follow one another
// instead of waiting out intervalSeconds, without changing the object in the
// middle of a sync each time. It returns a function that stops it and waits.
func pokeSyncs(ctx context.Context, w *world, name string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer GinkgoRecover()
		defer wg.Done()
		var last time.Time
		for n := 1; ctx.Err() == nil; {
			out, err := kubectl.Run(ctx, "get", "jobwatch", name, "-n", w.ns, "-o",
				`jsonpath={.metadata.annotations.ci\.jobops\.dev/requested-at}/{.status.lastHandledRequest}`)
			requested, handled, _ := strings.Cut(strings.TrimSpace(out), "/")
			if err == nil && (requested == handled || time.Since(last) > 3*time.Second) {
				_, _ = kubectl.Run(ctx, "annotate", "--overwrite", "jobwatch/"+name, "-n", w.ns,
					fmt.Sprintf("ci.jobops.dev/requested-at=poke-%d", n))
				n++
				last = time.Now()
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// adoptedJobs reads the manager's log (every run of it) for the jobs whose
// pending action a sync found already done in GitLab and adopted.
func adoptedJobs(logPath string) map[int64]bool {
	GinkgoHelper()
	raw, err := os.ReadFile(logPath)
	Expect(err).NotTo(HaveOccurred())
	jobs := map[int64]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		var entry struct {
			Msg string `json:"msg"`
			Job int64  `json:"job"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "Adopting an action GitLab already performed" {
			jobs[entry.Job] = true
		}
	}
	return jobs
}

// apiJob is a job as GitLab's API lists it.
type apiJob struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// newest is the attempt with the highest id.
func newest(js []apiJob) apiJob {
	var n apiJob
	for _, j := range js {
		if j.ID > n.ID {
			n = j
		}
	}
	return n
}

// pipelineJobs lists every attempt of a pipeline's jobs, as GitLab shows them
// with include_retried, through the public API.
func pipelineJobs(ctx context.Context, url, token string, project, pipeline int64) ([]apiJob, error) {
	var all []apiJob
	for page := 1; ; page++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf(
			"%s/api/v4/projects/%d/pipelines/%d/jobs?include_retried=true&per_page=100&page=%d", url, project, pipeline, page), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var jobs []apiJob
		err = json.NewDecoder(resp.Body).Decode(&jobs)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("pipeline %d jobs page %d: %s", pipeline, page, resp.Status)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, jobs...)
		if resp.Header.Get("X-Next-Page") == "" {
			return all, nil
		}
	}
}
