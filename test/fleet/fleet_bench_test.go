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

package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

const (
	jobsPerProject = 12 // running jobs each project can fail
	listLimit      = 600.0
	latencyTarget  = 2 * time.Second
	savingTarget   = 10.0
)

// mode is one run: how the JobWatches learn of failures.
type mode struct {
	name     string
	interval int32
	webhooks bool
}

// result is what one run measured.
type result struct {
	failures        int
	retriedOnce     int
	retriedTwice    int
	notRetried      int
	latencies       []time.Duration
	requestsPerMin  float64
	readsPerMin     float64 // every request but the retries
	listsPerMin     float64 // GET /projects/:id/jobs
	cpuSeconds      float64
	window          time.Duration
	rssMiB, peakMiB float64
}

func BenchmarkWebhookFleet(b *testing.B) {
	ctrl.SetLogger(logr.Discard()) // envtest's own log: the figures are what matters here
	root, err := devenv.RepoRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	assets, err := devenv.EnvtestAssets(ctx, root, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	bins, err := devenv.Build(ctx, root, filepath.Join(b.TempDir(), "bin"), false)
	if err != nil {
		b.Fatal(err)
	}
	projects := envInt("JOBOPS_FLEET_PROJECTS", 500)
	// Three minutes holds three polls of every watch, so polling's cost is
	// its steady state, not its first syncs.
	duration := envDuration("JOBOPS_FLEET_DURATION", 3*time.Minute)
	every := envDuration("JOBOPS_FLEET_EVERY", 100*time.Millisecond)
	modes := []mode{{name: "polling (60 s)", interval: 60}, {name: "webhooks (+ 10 min poll)", interval: 600, webhooks: true}}
	results := make([]result, len(modes))
	b.ResetTimer()
	for i, m := range modes {
		results[i] = runFleet(b, root, bins, assets, m, projects, duration, every)
	}
	b.StopTimer()
	report(modes, results, projects, duration, every)
	b.ReportMetric(ms(percentile(results[1].latencies, 99)), "webhook-p99-ms")
	b.ReportMetric(results[0].requestsPerMin/max(results[1].requestsPerMin, 1), "request-saving-x")
}

func runFleet(b *testing.B, root string, bins devenv.Binaries, assets string, m mode, projects int, duration, every time.Duration) result {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	cp, err := devenv.StartControlPlane(devenv.ControlPlaneOptions{AssetsDir: assets,
		CRDDir: filepath.Join(root, "config", "crd", "bases"), KubeconfigPath: filepath.Join(dir, "kubeconfig"),
		LogPath: filepath.Join(dir, "control-plane.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	sim, err := devenv.StartSimulator(ctx, devenv.SimulatorOptions{Binary: bins.GitLabSim, LogPath: filepath.Join(dir, "gitlab-sim.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	mgr, err := devenv.StartManager(ctx, devenv.ManagerOptions{Binary: bins.Manager, Kubeconfig: cp.Kubeconfig,
		LogPath: filepath.Join(dir, "manager.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = mgr.Stop(15 * time.Second) }()
	k8s := newClient(b, cp)

	token := devenv.RandomToken("glpat-fleet-")
	if _, err := sim.Admin.CreateUser(ctx, gitlabsim.UserSpec{Username: "operator", Token: token}); err != nil {
		b.Fatal(err)
	}
	fleet := makeProjects(b, sim, projects)
	ns := "fleet"
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitlab-token"}, StringData: map[string]string{"token": token}}))
	conn := &civ1alpha1.GitLabConnection{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitlab"}, Spec: civ1alpha1.GitLabConnectionSpec{
		URL: sim.URL, TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token"}, RequestsPerSecond: 1000, Burst: 1000, TimeoutSeconds: 30}}
	hookToken := devenv.RandomToken("whsec-")
	if m.webhooks {
		must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitlab-webhook"}, StringData: map[string]string{"token": hookToken}}))
		conn.Spec.Webhook = &civ1alpha1.WebhookSpec{SecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-webhook"}}
	}
	must(b, k8s.Create(ctx, conn))
	waitFor(b, time.Minute, "the connection Ready", func() bool {
		if k8s.Get(ctx, client.ObjectKeyFromObject(conn), conn) != nil {
			return false
		}
		return isTrue(conn.Status.Conditions, civ1alpha1.ConditionReady) && (!m.webhooks || conn.Status.WebhookPath != "")
	})
	if m.webhooks {
		for _, pr := range fleet {
			if _, err := sim.Admin.CreateHook(ctx, gitlabsim.HookSpec{ProjectID: pr.id, URL: mgr.WebhookURL() + conn.Status.WebhookPath,
				Token: hookToken, JobEvents: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
	created := time.Now()
	for i, pr := range fleet {
		must(b, k8s.Create(ctx, &civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%03d", i)},
			Spec: civ1alpha1.JobWatchSpec{ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"}, Project: intstr.FromString(pr.path),
				IntervalSeconds: m.interval, MaxActionsPerSync: 10, Rules: []civ1alpha1.WatchRule{{Name: "infra", Action: civ1alpha1.ActionRetry,
					Match: civ1alpha1.RuleMatch{FailureReasons: []string{gitlabsim.ReasonRunnerSystemFailure}}, Retry: &civ1alpha1.RetryPolicy{MaxRetries: 1}}}}}))
	}
	waitFor(b, 3*time.Minute, "every JobWatch's first sync", func() bool {
		var list civ1alpha1.JobWatchList
		if k8s.List(ctx, &list, client.InNamespace(ns)) != nil {
			return false
		}
		ready := 0
		for _, jw := range list.Items {
			if isTrue(jw.Status.Conditions, civ1alpha1.ConditionReady) {
				ready++
			}
		}
		return ready == projects
	})
	time.Sleep(5 * time.Second) // let the first syncs' writes settle
	// Measure the polls' steady state, not the quiet after the first syncs:
	// a watch's second sync is its next slot at least half an interval after
	// its first (policy.NextSyncAt), and the first syncs spread over a
	// minute. From then on the window holds the share of the slots its
	// length is of an interval, as it would at any later time.
	if steady := created.Add(time.Duration(m.interval)*time.Second/2 + time.Minute); time.Now().Before(steady) {
		fmt.Printf("%s: waiting %s for the polls' steady state\n", m.name, time.Until(steady).Round(time.Second))
		time.Sleep(time.Until(steady))
	}

	statsBefore, err := sim.Admin.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cpuBefore := procCPU(mgr.Process().Pid())
	failures := drive(b, sim, fleet, duration, every)
	statsAfter, err := sim.Admin.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r := result{failures: len(failures), window: duration, cpuSeconds: procCPU(mgr.Process().Pid()) - cpuBefore}
	r.rssMiB, r.peakMiB = procMemory(mgr.Process().Pid())
	minutes := duration.Minutes()
	total := delta(statsAfter, statsBefore, "") - delta(statsAfter, statsBefore, gitlabsim.RouteUser)
	retries := delta(statsAfter, statsBefore, gitlabsim.RouteRetry)
	r.requestsPerMin = float64(total) / minutes
	r.readsPerMin = float64(total-retries) / minutes
	r.listsPerMin = float64(delta(statsAfter, statsBefore, gitlabsim.RouteProjectJobs)) / minutes

	// Drain: the last failures of a polling run wait up to an interval.
	waitFor(b, time.Duration(m.interval)*time.Second*2+time.Minute, "every failure retried", func() bool {
		st, err := sim.Admin.Stats(ctx)
		if err != nil {
			return false
		}
		for _, f := range failures {
			if st.Actions[f.job].Retry == 0 {
				return false
			}
		}
		return true
	})
	final, err := sim.Admin.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range failures {
		switch final.Actions[f.job].Retry {
		case 0:
			r.notRetried++
		case 1:
			r.retriedOnce++
		default:
			r.retriedTwice++
		}
	}
	r.latencies = latencies(b, sim.URL, token, failures)
	return r
}

// project is one fleet project: its path and ids, and its running jobs,
// which the drive fails one by one.
type project struct {
	path      string
	id, pipe  int64
	running   []int64
	nameOfJob map[int64]string
}

// failure is one failed job and when it failed.
type failure struct {
	job     int64
	project *project
	at      time.Time
}

// makeProjects creates the projects, each with one pipeline of running jobs.
func makeProjects(b *testing.B, sim *devenv.Simulator, n int) []*project {
	b.Helper()
	ctx := context.Background()
	out := make([]*project, n)
	for i := range n {
		pr := &project{path: fmt.Sprintf("fleet/app-%03d", i), nameOfJob: map[int64]string{}}
		p, err := sim.Admin.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: pr.path})
		if err != nil {
			b.Fatal(err)
		}
		jobs := make([]gitlabsim.JobSpec, jobsPerProject)
		for k := range jobs {
			jobs[k] = gitlabsim.JobSpec{Name: fmt.Sprintf("test-%02d", k), Status: gitlabsim.StatusRunning}
		}
		pl, err := sim.Admin.CreatePipeline(ctx, gitlabsim.PipelineSpec{ProjectID: p.ID, Ref: "main", Jobs: jobs})
		if err != nil {
			b.Fatal(err)
		}
		pr.id, pr.pipe = p.ID, pl.ID
		for _, j := range pl.Jobs {
			pr.running = append(pr.running, j.ID)
			pr.nameOfJob[j.ID] = j.Name
		}
		out[i] = pr
	}
	return out
}

// drive fails a running job of a random project every tick for duration.
func drive(b *testing.B, sim *devenv.Simulator, projects []*project, duration, every time.Duration) []failure {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		mu       sync.Mutex
		failures []failure
		wg       sync.WaitGroup
	)
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.Now().Add(duration)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		pr := projects[rng.IntN(len(projects))]
		if len(pr.running) == 0 {
			continue
		}
		id := pr.running[0]
		pr.running = pr.running[1:]
		wg.Go(func() {
			at := time.Now()
			if err := sim.Admin.SetJobStatus(ctx, id, gitlabsim.StatusSpec{Status: gitlabsim.StatusFailed,
				FailureReason: gitlabsim.ReasonRunnerSystemFailure}); err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			failures = append(failures, failure{job: id, project: pr, at: at})
			mu.Unlock()
		})
	}
	wg.Wait()
	return failures
}

// apiJob is the part of GitLab's job entity the benchmark reads.
type apiJob struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// latencies reads, for each failure, when GitLab created its retry (the
// next attempt of its name in its pipeline, include_retried), and returns
// the waits, sorted. It reads after the measured window.
func latencies(b *testing.B, url, token string, failures []failure) []time.Duration {
	b.Helper()
	attempts := map[*project][]apiJob{}
	var out []time.Duration
	for _, f := range failures {
		jobs, ok := attempts[f.project]
		if !ok {
			jobs = pipelineJobs(b, url, token, f.project)
			attempts[f.project] = jobs
		}
		name := f.project.nameOfJob[f.job]
		var retry *apiJob
		for i := range jobs {
			if j := &jobs[i]; j.Name == name && j.ID > f.job && (retry == nil || j.ID < retry.ID) {
				retry = j
			}
		}
		if retry != nil {
			out = append(out, max(retry.CreatedAt.Sub(f.at), 0))
		}
	}
	slices.Sort(out)
	return out
}

func pipelineJobs(b *testing.B, url, token string, pr *project) []apiJob {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/jobs?include_retried=true&per_page=100", url, pr.id, pr.pipe), nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var jobs []apiJob
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		b.Fatal(err)
	}
	return jobs
}

func report(modes []mode, results []result, projects int, duration, every time.Duration) {
	var out strings.Builder
	fmt.Fprintf(&out, "\n== Webhook fleet: %d projects, one JobWatch each, one manager; a job fails every %s for %s ==\n", projects, every, duration)
	row := func(name string, values ...string) {
		fmt.Fprintf(&out, "  %-44s", name)
		for _, v := range values {
			fmt.Fprintf(&out, " %-26s", v)
		}
		fmt.Fprintln(&out)
	}
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.name
	}
	row("", names...)
	each := func(f func(r result) string) []string {
		v := make([]string, len(results))
		for i, r := range results {
			v[i] = f(r)
		}
		return v
	}
	row("failures", each(func(r result) string { return strconv.Itoa(r.failures) })...)
	row("failure-to-retry p50", each(func(r result) string { return fmt.Sprintf("%.0f ms", ms(percentile(r.latencies, 50))) })...)
	row("failure-to-retry p99", each(func(r result) string { return fmt.Sprintf("%.0f ms", ms(percentile(r.latencies, 99))) })...)
	row("GitLab requests per minute", each(func(r result) string { return fmt.Sprintf("%.0f", r.requestsPerMin) })...)
	row("  of which reads (all but the retries)", each(func(r result) string { return fmt.Sprintf("%.0f", r.readsPerMin) })...)
	row("  jobs-list requests per minute", each(func(r result) string {
		return fmt.Sprintf("%.0f (%.0f%% of GitLab.com's %.0f/min)", r.listsPerMin, r.listsPerMin/listLimit*100, listLimit)
	})...)
	row("manager CPU", each(func(r result) string {
		return fmt.Sprintf("%.1f s (%.0f%% of a core)", r.cpuSeconds, r.cpuSeconds/r.window.Seconds()*100)
	})...)
	row("manager RSS (peak)", each(func(r result) string { return fmt.Sprintf("%.0f MiB (%.0f MiB)", r.rssMiB, r.peakMiB) })...)
	row("retried exactly once / twice / not", each(func(r result) string {
		return fmt.Sprintf("%d / %d / %d", r.retriedOnce, r.retriedTwice, r.notRetried)
	})...)
	poll, hook := results[0], results[1]
	p99 := percentile(hook.latencies, 99)
	fmt.Fprintf(&out, "targets, with webhooks: p99 failure-to-retry < %s: %s (%.0f ms); at least %.0fx fewer GitLab requests per minute than polling: %s (%.1fx)\n",
		latencyTarget, verdict(p99 < latencyTarget), ms(p99), savingTarget,
		verdict(poll.requestsPerMin >= savingTarget*hook.requestsPerMin), poll.requestsPerMin/max(hook.requestsPerMin, 1))
	// Every failure costs its retry in both modes; what webhooks can save is
	// the reads, which the line below compares on their own.
	fmt.Fprintf(&out, "  both modes retry every failure (%.0f a minute); the reads alone: %.1fx fewer with webhooks (%.0f against %.0f a minute)\n",
		float64(hook.failures)/hook.window.Minutes(), poll.readsPerMin/max(hook.readsPerMin, 1), hook.readsPerMin, poll.readsPerMin)
	fmt.Fprintf(&out, "exactly once: %s\n", verdict(poll.retriedTwice == 0 && hook.retriedTwice == 0 && poll.notRetried == 0 && hook.notRetried == 0))
	fmt.Print(out.String())
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// delta is how many requests of route (all routes when empty) were made
// between two snapshots.
func delta(after, before gitlabsim.Stats, route string) int64 {
	if route == "" {
		return after.TotalRequests - before.TotalRequests
	}
	return after.Count(route, 0) - before.Count(route, 0)
}

// procCPU is a process's user and system CPU time, in seconds.
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// procMemory is a process's resident set now and at its peak, in MiB.
func procMemory(pid int) (rss, peak float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		switch key {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak
}

func newClient(b *testing.B, cp *devenv.ControlPlane) client.Client {
	b.Helper()
	scheme := runtime.NewScheme()
	must(b, clientgoscheme.AddToScheme(scheme))
	must(b, civ1alpha1.AddToScheme(scheme))
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func waitFor(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func isTrue(conditions []metav1.Condition, t string) bool {
	for _, c := range conditions {
		if c.Type == t && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}
