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
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

const (
	jobActions      = 500
	createWorkers   = 50
	jobsPerPipeline = 100
	// p99Target is for actions arriving at a steady rate
	// (BenchmarkJobActionSteady). A burst's latency is bounded by the floor
	// (its last action cannot complete before jobActions / floor), so the
	// burst is judged by its share of the floor instead.
	p99Target      = time.Second
	requestsTarget = 1.2 // GitLab requests per action
)

// BenchmarkJobActionThroughput: 500 JobActions that cancel 500
// running jobs by jobID, created at once by 50 goroutines. It measures actions
// per second (first Create sent to last Complete seen), the latency of each
// action from its Create returning to its Complete condition arriving on a
// watch, the GitLab requests per action, and the process's heap and RSS after.
//
// The work is done once whatever b.N is: run it with -benchtime 1x.
func BenchmarkJobActionThroughput(b *testing.B) {
	h := setup(b)
	ctx := context.Background()
	w := h.newWorld(b, "ja", 1)
	project := w.project(b, "bench/cancel")
	jobIDs := runningJobs(b, w, project, jobActions)

	// Every JobAction's Complete (or Failed) arrives through an informer (a
	// watch that re-lists and re-watches when the API server drops it, as it
	// does to a watcher that falls behind); the moment it arrives is when a
	// user would see it.
	watch := watchOutcomes(b, h, w.ns, jobActions)

	memBefore := readMemory()
	statsBefore := w.sim.Stats()
	metricsBefore := gatherMetrics()
	cpuBefore := sampleCPU()

	names := make([]string, jobActions)
	sent := make([]time.Time, jobActions)
	created := make([]time.Time, jobActions)
	createErrs := make([]error, jobActions)
	next := make(chan int, jobActions)
	for i := range jobActions {
		names[i] = fmt.Sprintf("cancel-%03d", i)
		next <- i
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range createWorkers {
		wg.Go(func() {
			for i := range next {
				ja := &civ1alpha1.JobAction{Spec: civ1alpha1.JobActionSpec{
					ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"},
					Project:       intstr.FromString(project.PathWithNamespace),
					Action:        civ1alpha1.ActionCancel,
					JobID:         jobIDs[i],
				}}
				ja.Name, ja.Namespace = names[i], w.ns
				sent[i] = time.Now()
				createErrs[i] = h.k8s.Create(ctx, ja)
				created[i] = time.Now()
			}
		})
	}
	wg.Wait()
	lastCreated := time.Now()
	for i, err := range createErrs {
		if err != nil {
			b.Fatalf("creating %s: %v", names[i], err)
		}
	}
	got := watch.wait(benchTimeout())
	timedOut := len(got) < jobActions
	if timedOut {
		var list civ1alpha1.JobActionList
		if err := h.k8s.List(ctx, &list, client.InNamespace(w.ns)); err == nil {
			byReason := map[string]int{}
			for _, ja := range list.Items {
				for _, c := range ja.Status.Conditions {
					if c.Status == "True" {
						byReason[c.Type+"/"+c.Reason]++
					}
				}
			}
			fmt.Fprintf(os.Stderr, "bench: JobActions by condition: %v\n", byReason)
		}
	}
	b.StopTimer()

	cpuAfter := sampleCPU()
	statsAfter := w.sim.Stats()
	metricsAfter := gatherMetrics()
	memAfter := readMemory()

	// Figures.
	var latencies, createLatencies []time.Duration
	var last time.Time
	first := time.Time{}
	failed := map[string]int{}
	for i, name := range names {
		createLatencies = append(createLatencies, created[i].Sub(sent[i]))
		o, ok := got[name]
		if !ok {
			continue
		}
		if o.failed {
			failed[o.reason+": "+o.msg]++
		}
		latencies = append(latencies, max(o.at.Sub(created[i]), 0))
		if o.at.After(last) {
			last = o.at
		}
		if first.IsZero() || o.at.Before(first) {
			first = o.at
		}
	}
	slices.Sort(latencies)
	slices.Sort(createLatencies)
	elapsed := last.Sub(start)
	rate := float64(len(latencies)) / elapsed.Seconds()
	gitlabRequests := requestsExcludingUser(statsAfter) - requestsExcludingUser(statsBefore)
	perAction := float64(gitlabRequests) / float64(jobActions)
	cancels, doubles, missing := cancelsOf(statsBefore, statsAfter, jobIDs)

	b.ReportMetric(rate, "actions/s")
	b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
	b.ReportMetric(perAction, "gitlab-req/action")
	b.ReportMetric(mib(memAfter.heapAlloc), "heap-MiB")
	b.ReportMetric(mib(memAfter.rss), "rss-MiB")

	var out strings.Builder
	fmt.Fprintf(&out, "\n== JobAction throughput: %d Cancel JobActions (by jobID) created at once by %d goroutines ==\n", jobActions, createWorkers)
	fmt.Fprintf(&out, "settings: rest.Config QPS %d / Burst %d (manager and benchmark client); GitLabConnection requestsPerSecond %d / burst %d;\n"+
		"          workers %s; manager metrics and probes off\n",
		kubeQPS, kubeBurst, gitlabRPS, gitlabBurst, workersSetting)
	if timedOut {
		fmt.Fprintf(&out, "TIMED OUT: %d of %d reached Complete or Failed\n", len(latencies), jobActions)
	}
	fmt.Fprintf(&out, "creation: all %d Creates returned %.0f ms after the first was sent (Create call p50 %.0f ms, p99 %.0f ms)\n",
		jobActions, ms(lastCreated.Sub(start)), ms(percentile(createLatencies, 50)), ms(percentile(createLatencies, 99)))
	if !first.IsZero() {
		fmt.Fprintf(&out, "first Complete %.0f ms, last Complete %.0f ms after the first Create\n", ms(first.Sub(start)), ms(elapsed))
	}
	row := func(name, value, target, verdict string) {
		fmt.Fprintf(&out, "  %-34s %-14s %-12s %s\n", name, value, target, verdict)
	}
	row("figure", "value", "target", "")
	row("actions per second", fmt.Sprintf("%.1f", rate), "", "judged as a share of the floor, below")
	row("latency p50 (Create->Complete)", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 50))), "", "")
	row("latency p90", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 90))), "", "")
	row("latency p99", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 99))), "", "")
	row("latency max", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 100))), "", "")
	row("GitLab requests per action", fmt.Sprintf("%.3f", perAction), fmt.Sprintf("<= %.1f", requestsTarget), verdict(perAction <= requestsTarget, perAction/requestsTarget))
	row("heap after (HeapAlloc after GC)", fmt.Sprintf("%.1f MiB", mib(memAfter.heapAlloc)), "", fmt.Sprintf("before: %.1f MiB", mib(memBefore.heapAlloc)))
	row("RSS after (VmRSS)", fmt.Sprintf("%.1f MiB", mib(memAfter.rss)), "", fmt.Sprintf("before: %.1f MiB", mib(memBefore.rss)))
	fmt.Fprintf(&out, "  (heap and RSS are this process: the operator's manager, and also the simulator, the benchmark's\n"+
		"   client and watch; kube-apiserver and etcd are separate processes and not counted)\n")
	fmt.Fprintf(&out, "GitLab requests by route (GET /user excluded from the per-action figure):\n")
	for _, route := range statsAfter.Routes() {
		for code, n := range statsAfter.Requests[route] {
			if d := n - statsBefore.Requests[route][code]; d > 0 {
				fmt.Fprintf(&out, "  %-60s %3d  %d\n", route, code, d)
			}
		}
	}
	reconciles := metricsAfter.delta(metricsBefore, "controller_runtime_reconcile_total", "controller=jobaction")
	reconcileErrors := metricsAfter.delta(metricsBefore, "controller_runtime_reconcile_errors_total", "controller=jobaction")
	reconcileTime := metricsAfter.delta(metricsBefore, "controller_runtime_reconcile_time_seconds", "controller=jobaction")
	queueTime := metricsAfter.delta(metricsBefore, "workqueue_queue_duration_seconds", "name=jobaction")
	gitlabTime := metricsAfter.delta(metricsBefore, "gitlab_request_duration_seconds")
	fmt.Fprintf(&out, "where the time goes (controller-runtime and internal/gitlab metrics, this run):\n")
	fmt.Fprintf(&out, "  jobaction reconciles: %.0f (%.2f per action), errors %.0f; mean reconcile %.1f ms, total %.1f s of %.1f s wall\n",
		reconciles.value, reconciles.value/jobActions, reconcileErrors.value, reconcileTime.meanMS(), reconcileTime.sum, elapsed.Seconds())
	fmt.Fprintf(&out, "  mean time in the workqueue before a worker took it: %.0f ms; GitLab request mean %.1f ms (%.0f requests)\n",
		queueTime.meanMS(), gitlabTime.meanMS(), gitlabTime.count)
	fmt.Fprintf(&out, "  Kubernetes requests of the whole process (operator, plus the benchmark's %d Creates and informer), by verb:\n", jobActions)
	for _, verb := range []string{"GET", "POST", "PATCH", "PUT", "DELETE", "LIST", "WATCH"} {
		lat := metricsAfter.delta(metricsBefore, "rest_client_request_duration_seconds", "verb="+verb)
		if lat.count == 0 {
			continue
		}
		limiter := metricsAfter.delta(metricsBefore, "rest_client_rate_limiter_duration_seconds", "verb="+verb)
		fmt.Fprintf(&out, "    %-6s %5.0f requests, mean %.1f ms, mean wait in the client-side limiter %.2f ms\n", verb, lat.count, lat.meanMS(), limiter.meanMS())
	}
	fmt.Fprintf(&out, "  %s\n", cpuReport(cpuBefore, cpuAfter))
	fmt.Fprintf(&out, "jobs canceled exactly once: %d; canceled more than once: %d; not canceled: %d\n", cancels, doubles, missing)
	for reason, n := range failed {
		fmt.Fprintf(&out, "  Failed x%d: %s\n", n, reason)
	}

	// The floor, in the same run on the same control plane: a plain client
	// making the operator's writes for as many objects, as many at a time.
	floor := floorRate(b, h, w.ns, jobActions, true)
	floorNoEvent := floorRate(b, h, w.ns, jobActions, false)
	b.ReportMetric(rate/floor, "share-of-floor")
	fmt.Fprintf(&out, "the floor: %d workers making, per object, the writes of one action (JobAction Create, JobActionRecord Create,\n"+
		"  status patch, Normal event), outside the operator's scope (label %s):\n", floorWorkers, floorLabel)
	row("floor, objects per second", fmt.Sprintf("%.1f", floor), "", "")
	row("the operator's share of it", fmt.Sprintf("%.2f", rate/floor), fmt.Sprintf(">= %.2f", floorShareMin), verdict(rate/floor >= floorShareMin, rate/floor/floorShareMin))
	row(fmt.Sprintf("%d objects at the floor's pace", jobActions), fmt.Sprintf("%.0f ms", float64(jobActions)/floor*1000), "",
		fmt.Sprintf("the burst took %.0f ms, first Create to last Complete", ms(elapsed)))
	row("floor without the Normal event", fmt.Sprintf("%.1f", floorNoEvent), "", fmt.Sprintf("the event costs %.0f%% of the floor", (1-floor/floorNoEvent)*100))
	fmt.Print(out.String())

	// Leave nothing for the next benchmark's manager cache or memory figures.
	if err := h.k8s.DeleteAllOf(ctx, &civ1alpha1.JobAction{}, client.InNamespace(w.ns)); err != nil {
		fmt.Fprintln(os.Stderr, "bench: deleting JobActions:", err)
	}
}

// percentile is the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func verdict(ok bool, ratio float64) string {
	if ok {
		return "meets target"
	}
	return fmt.Sprintf("MISSES target (%.2fx of it)", ratio)
}

// benchTimeout bounds the wait for the JobActions (JOBOPS_BENCH_JA_TIMEOUT, a
// duration, for quick experiments).
func benchTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("JOBOPS_BENCH_JA_TIMEOUT")); err == nil {
		return d
	}
	return 3 * time.Minute
}
