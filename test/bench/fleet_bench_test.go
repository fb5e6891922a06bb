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

package bench_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// fleetConfig is the shape of the fleet benchmark; environment variables
// change it (JOBOPS_BENCH_FLEET_WATCHES, _INTERVAL, _PHASE, _RPS).
type fleetConfig struct {
	watches   int
	interval  time.Duration
	phase     time.Duration // how long each measured phase lasts
	rps       int32         // the connection's requests per second
	failEvery time.Duration // one new failure this often
}

func fleetSettings() fleetConfig {
	c := fleetConfig{watches: 1000, interval: 30 * time.Second, phase: 90 * time.Second, rps: 60, failEvery: 250 * time.Millisecond}
	if n, err := strconv.Atoi(os.Getenv("JOBOPS_BENCH_FLEET_WATCHES")); err == nil && n > 0 {
		c.watches = n
	}
	if d, err := time.ParseDuration(os.Getenv("JOBOPS_BENCH_FLEET_INTERVAL")); err == nil && d >= 10*time.Second {
		c.interval = d
	}
	if d, err := time.ParseDuration(os.Getenv("JOBOPS_BENCH_FLEET_PHASE")); err == nil && d > 0 {
		c.phase = d
	}
	if n, err := strconv.Atoi(os.Getenv("JOBOPS_BENCH_FLEET_RPS")); err == nil && n > 0 {
		c.rps = int32(n)
	}
	return c
}

const (
	backfillPipelines = 1000 // of 20 jobs: 20,000 jobs over 60 days
	backfillJobs      = 20
)

// BenchmarkJobWatchFleet: 1,000 JobWatches, each on a project of its own,
// on one manager and one GitLabConnection, with a steady trickle of
// runner_system_failure jobs (4 a second) that their Retry rule retries.
// It measures how long it takes the watches to start (and how spread out
// their first syncs are), then two phases: the fleet alone, and the fleet
// while one more watch works through the backlog of a 20,000-job project
// (an Erase rule of 30 days) on the same connection. For each: sync lag
// (actual minus scheduled start; histogram_quantile over the
// jobops_jobwatch_sync_lag_seconds buckets), GitLab requests, API-server
// writes by the manager, the connection's rate-limiter wait, CPU; then RSS,
// and whether every failure was retried exactly once.
//
// The work is done once whatever b.N is: run it with -benchtime 1x.
func BenchmarkJobWatchFleet(b *testing.B) {
	h := setup(b)
	ctx := context.Background()
	cfg := fleetSettings()
	w := h.newWorld(b, "jw-fleet", 4)
	w.limitConnection(b, cfg.rps)
	projects := w.fleetProjects(b, cfg.watches)
	backfill := w.project(b, "fleet/backfill")
	fillBackfill(b, w, backfill)

	created := time.Now()
	w.createFleet(b, projects, cfg)
	creation := time.Since(created)
	firstSyncs, perSecond := w.waitFirstSyncs(b, cfg.watches, created)
	fmt.Printf("bench: %d watches created in %.1f s; all synced once %.1f s after creation began\n",
		cfg.watches, creation.Seconds(), firstSyncs.Seconds())

	trickle := w.startTrickle(projects, cfg.failEvery)
	time.Sleep(cfg.interval) // every watch on its grid, the trickle flowing
	alone := w.measure(cfg.phase, nil)
	bf := w.watchBackfill(b, backfill, cfg)
	progress := &backfillProgress{}
	withBackfill := w.measure(cfg.phase, func() { progress.poll(b, w, bf) })
	failures := trickle.stop()
	retriedOnce, notOnce := w.waitRetried(b, failures, 3*cfg.interval)
	mem := readMemory()

	var out strings.Builder
	fmt.Fprintf(&out, "\n== %d JobWatches on one manager: %d projects, interval %s, one connection at %d requests/s, a failure every %s ==\n",
		cfg.watches, cfg.watches, cfg.interval, cfg.rps, cfg.failEvery)
	fmt.Fprintf(&out, "start: %d watches created in %.1f s; every one had synced %.1f s after creation began; %s\n",
		cfg.watches, creation.Seconds(), firstSyncs.Seconds(), spread(perSecond))
	printPhases(&out, alone, withBackfill)
	fmt.Fprintf(&out, "backfilling watch (Erase failed jobs older than 30 days of %d jobs, maxActionsPerSync 50): %d syncs in the phase, %d GitLab requests (%.0f/min, %.1f per sync at most %d), %d pipelines visited, %d jobs erased\n",
		backfillPipelines*backfillJobs, progress.syncs, progress.requests, float64(progress.requests)/withBackfill.minutes(),
		float64(progress.requests)/math.Max(float64(progress.syncs), 1), progress.most, progress.visited, progress.erased)
	fmt.Fprintf(&out, "memory: this process (manager, simulator with %d projects, benchmark client) RSS %.0f MiB, Go heap %.0f MiB after GC, %d goroutines\n",
		cfg.watches+1, mib(mem.rss), mib(mem.heapAlloc), mem.goroutine)
	fmt.Fprintf(&out, "failures: %d made, %d retried exactly once, %d not\n", len(failures), retriedOnce, notOnce)
	fmt.Print(out.String())
	b.ReportMetric(alone.lag(0.99)*1000, "lag-p99-ms")
	b.ReportMetric(alone.writesPerMinute(), "writes/min")
	b.ReportMetric(alone.requestsPerMinute(), "gitlab-req/min")

	if err := h.k8s.DeleteAllOf(ctx, &civ1alpha1.JobWatch{}, client.InNamespace(w.ns)); err != nil {
		b.Fatal(err)
	}
	waitUntil(b, 2*time.Minute, "the JobWatches to go", func() (bool, error) {
		var left civ1alpha1.JobWatchList
		err := h.k8s.List(ctx, &left, client.InNamespace(w.ns))
		return err == nil && len(left.Items) == 0, err
	})
}

// limitConnection sets the connection's rate limit.
func (w *world) limitConnection(b *testing.B, rps int32) {
	b.Helper()
	conn := &civ1alpha1.GitLabConnection{}
	key := client.ObjectKey{Namespace: w.ns, Name: "gitlab"}
	if err := w.h.k8s.Get(context.Background(), key, conn); err != nil {
		b.Fatal(err)
	}
	conn.Spec.RequestsPerSecond, conn.Spec.Burst = rps, rps
	if err := w.h.k8s.Update(context.Background(), conn); err != nil {
		b.Fatal(err)
	}
}

// fleetProjects makes n projects with a pipeline of 10 finished jobs each.
func (w *world) fleetProjects(b *testing.B, n int) []gitlabsim.Project {
	b.Helper()
	out := make([]gitlabsim.Project, 0, n)
	old := time.Now().Add(-time.Hour)
	for i := range n {
		p := w.project(b, fmt.Sprintf("fleet/app-%04d", i))
		jobs := make([]gitlabsim.JobSpec, 10)
		for j := range jobs {
			jobs[j] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%d", j), Status: gitlabsim.StatusSuccess}
		}
		if _, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: p.ID, CreatedAt: &old, Jobs: jobs}); err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// fillBackfill gives the backfill project 60 days of pipelines, two failed
// jobs with a log in each.
func fillBackfill(b *testing.B, w *world, p gitlabsim.Project) {
	b.Helper()
	start := time.Now().Add(-60 * 24 * time.Hour)
	for i := range backfillPipelines {
		created := start.Add(time.Duration(i) * 60 * 24 * time.Hour / backfillPipelines)
		jobs := make([]gitlabsim.JobSpec, backfillJobs)
		for j := range jobs {
			jobs[j] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%02d", j), Status: gitlabsim.StatusSuccess}
			if j < 2 {
				jobs[j].Status, jobs[j].FailureReason, jobs[j].Trace = gitlabsim.StatusFailed, gitlabsim.ReasonScriptFailure, "boom"
			}
		}
		if _, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: p.ID, CreatedAt: &created, Jobs: jobs}); err != nil {
			b.Fatal(err)
		}
	}
}

// createFleet creates a watch per project, 8 at a time.
func (w *world) createFleet(b *testing.B, projects []gitlabsim.Project, cfg fleetConfig) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(projects))
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				jw := &civ1alpha1.JobWatch{Spec: civ1alpha1.JobWatchSpec{
					ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"}, Project: intstr.FromString(projects[i].PathWithNamespace),
					IntervalSeconds: int32(cfg.interval / time.Second), MaxActionsPerSync: 10,
					Rules: []civ1alpha1.WatchRule{{Name: "infra", Action: civ1alpha1.ActionRetry,
						Match: civ1alpha1.RuleMatch{FailureReasons: []string{gitlabsim.ReasonRunnerSystemFailure}},
						Retry: &civ1alpha1.RetryPolicy{MaxRetries: 1}}}}}
				jw.Name, jw.Namespace = fmt.Sprintf("watch-%04d", i), w.ns
				if err := w.h.k8s.Create(context.Background(), jw); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range projects {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// waitFirstSyncs waits until every watch has synced once, and returns when
// that was and how many first syncs finished in each second since start.
func (w *world) waitFirstSyncs(b *testing.B, n int, start time.Time) (time.Duration, []int) {
	b.Helper()
	var list civ1alpha1.JobWatchList
	waitUntil(b, 5*time.Minute, "every JobWatch to sync once", func() (bool, error) {
		if err := w.h.k8s.List(context.Background(), &list, client.InNamespace(w.ns)); err != nil {
			return false, err
		}
		synced := 0
		for _, jw := range list.Items {
			if jw.Status.LastSyncTime != nil {
				synced++
			}
		}
		return synced == n, nil
	})
	took := time.Since(start)
	perSecond := make([]int, int(took/time.Second)+2)
	for _, jw := range list.Items {
		if i := jw.Status.LastSyncTime.Unix() - start.Unix(); i >= 0 && int(i) < len(perSecond) {
			perSecond[i]++
		}
	}
	return took, perSecond
}

// spread summarises first syncs per second: the busiest second, and the
// counts of each second.
func spread(perSecond []int) string {
	return fmt.Sprintf("at most %d first syncs finished in one second; per second: %v", slices.Max(perSecond), perSecond)
}

// trickle makes a runner_system_failure job in a random project every so often.
type trickle struct {
	stopc chan struct{}
	done  chan []int64
}

func (w *world) startTrickle(projects []gitlabsim.Project, every time.Duration) *trickle {
	t := &trickle{stopc: make(chan struct{}), done: make(chan []int64, 1)}
	go func() {
		var ids []int64
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-t.stopc:
				t.done <- ids
				return
			case <-tick.C:
				p := projects[rand.IntN(len(projects))]
				pl, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: p.ID, Jobs: []gitlabsim.JobSpec{
					{Name: "flaky", Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonRunnerSystemFailure}}})
				if err == nil {
					ids = append(ids, pl.Jobs[0].ID)
				}
			}
		}
	}()
	return t
}

// stop ends the trickle and returns the failed jobs it made.
func (t *trickle) stop() []int64 {
	close(t.stopc)
	return <-t.done
}

// waitRetried waits until every failure has been retried (or timeout), and
// counts those retried exactly once and the others.
func (w *world) waitRetried(b *testing.B, ids []int64, timeout time.Duration) (once, other int) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := w.sim.Stats()
		once, other = 0, 0
		for _, id := range ids {
			if st.Actions[id].Retry == 1 {
				once++
			} else {
				other++
			}
		}
		if other == 0 || time.Now().After(deadline) {
			return once, other
		}
		time.Sleep(time.Second)
	}
}

// watchBackfill creates the watch that works through the backfill project.
func (w *world) watchBackfill(b *testing.B, p gitlabsim.Project, cfg fleetConfig) *civ1alpha1.JobWatch {
	b.Helper()
	jw := &civ1alpha1.JobWatch{Spec: civ1alpha1.JobWatchSpec{
		ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"}, Project: intstr.FromString(p.PathWithNamespace),
		IntervalSeconds: int32(cfg.interval / time.Second), MaxActionsPerSync: 50,
		Rules: []civ1alpha1.WatchRule{{Name: "retention", Action: civ1alpha1.ActionErase,
			Match: civ1alpha1.RuleMatch{Statuses: []civ1alpha1.JobStatus{"failed"}, MinAgeSeconds: 30 * 24 * 3600}}}}}
	jw.Name, jw.Namespace = "backfill", w.ns
	if err := w.h.k8s.Create(context.Background(), jw); err != nil {
		b.Fatal(err)
	}
	return jw
}

// backfillProgress adds up the backfilling watch's syncs from its status:
// each of its syncs writes status while it has a backlog.
type backfillProgress struct {
	last                  time.Time
	syncs, requests, most int
	visited, erased       int64
}

func (p *backfillProgress) poll(b *testing.B, w *world, jw *civ1alpha1.JobWatch) {
	got := &civ1alpha1.JobWatch{}
	if err := w.h.k8s.Get(context.Background(), client.ObjectKeyFromObject(jw), got); err != nil || got.Status.LastSyncTime == nil {
		return
	}
	if t := got.Status.LastSyncTime.Time; t.After(p.last) && got.Status.LastSync != nil {
		p.last = t
		p.syncs++
		p.requests += int(got.Status.LastSync.Requests)
		p.most = max(p.most, int(got.Status.LastSync.Requests))
	}
	p.visited = 0
	for _, h := range got.Status.History {
		p.visited += h.PipelinesVisited
	}
	for _, r := range got.Status.Rules {
		p.erased = r.Acted
	}
}

// phase is what one measured phase saw.
type phase struct {
	took           time.Duration
	requests       int64
	writes         map[string]int64
	syncs          float64
	lagBounds      []float64
	lagCounts      []float64
	limiterWaitP99 float64
	cpu            string
}

// measure runs a phase of d, calling during every second if set.
func (w *world) measure(d time.Duration, during func()) phase {
	start, stats, writes := time.Now(), w.sim.Stats(), w.h.writes.snapshot()
	metrics, lag, wait, cpu := gatherMetrics(), histogram("jobops_jobwatch_sync_lag_seconds"), histogram("gitlab_rate_limiter_wait_seconds"), sampleCPU()
	for end := start.Add(d); time.Now().Before(end); {
		time.Sleep(time.Second)
		if during != nil {
			during()
		}
	}
	p := phase{took: time.Since(start), requests: requestsExcludingUser(w.sim.Stats()) - requestsExcludingUser(stats),
		writes: map[string]int64{}, cpu: cpuReport(cpu, sampleCPU())}
	for k, v := range w.h.writes.snapshot() {
		if n := v - writes[k]; n > 0 {
			p.writes[k] = n
		}
	}
	p.syncs = gatherMetrics().delta(metrics, "jobops_jobwatch_sync_duration_seconds").count
	lagAfter := histogram("jobops_jobwatch_sync_lag_seconds")
	p.lagBounds, p.lagCounts = lagAfter.bounds, lagAfter.minus(lag)
	waitAfter := histogram("gitlab_rate_limiter_wait_seconds")
	p.limiterWaitP99 = quantile(0.99, waitAfter.bounds, waitAfter.minus(wait))
	return p
}

func (p phase) minutes() float64 { return p.took.Minutes() }

func (p phase) lag(q float64) float64 { return quantile(q, p.lagBounds, p.lagCounts) }

func (p phase) requestsPerMinute() float64 { return float64(p.requests) / p.minutes() }

func (p phase) writesPerMinute() float64 {
	var n int64
	for _, v := range p.writes {
		n += v
	}
	return float64(n) / p.minutes()
}

func (p phase) writesByKind() string {
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range p.writes {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, float64(p.writes[k])/p.minutes()))
	}
	return strings.Join(parts, ", ")
}

func printPhases(out *strings.Builder, alone, busy phase) {
	row := func(name string, f func(phase) string) {
		fmt.Fprintf(out, "  %-34s | %-28s | %s\n", name, f(alone), f(busy))
	}
	fmt.Fprintf(out, "  %-34s | %-28s | %s\n", "", "fleet alone", "fleet + a watch backfilling")
	row("phase length", func(p phase) string { return fmt.Sprintf("%.0f s", p.took.Seconds()) })
	row("syncs per minute", func(p phase) string { return fmt.Sprintf("%.0f", p.syncs/p.minutes()) })
	row("sync lag p50 / p99", func(p phase) string {
		return fmt.Sprintf("%.1f ms / %.1f ms", p.lag(0.5)*1000, p.lag(0.99)*1000)
	})
	row("GitLab requests per minute", func(p phase) string { return fmt.Sprintf("%.0f", p.requestsPerMinute()) })
	row("rate limiter wait p99", func(p phase) string { return fmt.Sprintf("%.1f ms", p.limiterWaitP99*1000) })
	row("API-server writes per minute", func(p phase) string { return fmt.Sprintf("%.0f", p.writesPerMinute()) })
	row("  of which", func(p phase) string { return p.writesByKind() })
	row("API-server writes per sync", func(p phase) string {
		return fmt.Sprintf("%.3f", p.writesPerMinute()/math.Max(p.syncs/p.minutes(), 1e-9))
	})
	fmt.Fprintf(out, "  CPU, fleet alone: %s\n  CPU, with backfill: %s\n", alone.cpu, busy.cpu)
	fmt.Fprintf(out, "  (lag: histogram_quantile over jobops_jobwatch_sync_lag_seconds, linear within a bucket; syncs: jobops_jobwatch_sync_duration_seconds;\n"+
		"   writes: a retry writes status twice, its claim then its answer, and an event; a sync that finds nothing new writes nothing,\n"+
		"   and each watch refreshes lastSyncTime once every 10 minutes)\n")
}

// hist is a histogram's cumulative bucket counts.
type hist struct {
	bounds []float64
	counts []float64 // cumulative, as Prometheus keeps them; the last is +Inf
}

// histogram reads a histogram of controller-runtime's registry, summed over
// its series.
func histogram(name string) hist {
	var h hist
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return h
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			buckets := m.GetHistogram().GetBucket()
			if h.bounds == nil {
				for _, bk := range buckets {
					h.bounds = append(h.bounds, bk.GetUpperBound())
				}
				h.counts = make([]float64, len(buckets)+1)
			}
			for i, bk := range buckets {
				h.counts[i] += float64(bk.GetCumulativeCount())
			}
			h.counts[len(buckets)] += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return h
}

// minus is h's cumulative counts less before's.
func (h hist) minus(before hist) []float64 {
	out := slices.Clone(h.counts)
	for i := range out {
		if i < len(before.counts) {
			out[i] -= before.counts[i]
		}
	}
	return out
}

// quantile is Prometheus's histogram_quantile: linear within the bucket
// that holds the q-th observation.
func quantile(q float64, bounds, cumulative []float64) float64 {
	if len(cumulative) == 0 || cumulative[len(cumulative)-1] == 0 {
		return 0
	}
	rank := q * cumulative[len(cumulative)-1]
	for i, c := range cumulative {
		if c < rank {
			continue
		}
		if i == len(bounds) {
			return bounds[len(bounds)-1] // beyond the last bound
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = bounds[i-1], cumulative[i-1]
		}
		if c == below {
			return bounds[i]
		}
		return lower + (bounds[i]-lower)*(rank-below)/(c-below)
	}
	return bounds[len(bounds)-1]
}
