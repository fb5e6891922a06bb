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
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

const (
	retryBudget      = 2
	newFailures      = 50
	steadySyncs      = 5
	pipelineJobs     = 1000
	memoryWatches    = 100
	memoryWatchJobs  = 20
	memoryInterval   = 10 // seconds, the smallest the CRD allows
	syncWaitDeadline = 2 * time.Minute
)

// infraRule is the rule of every watch here: retry runner_system_failure up
// to twice, no backoff.
func infraRule() civ1alpha1.WatchRule {
	return civ1alpha1.WatchRule{Name: "infra", Action: civ1alpha1.ActionRetry,
		Match: civ1alpha1.RuleMatch{FailureReasons: []string{gitlabsim.ReasonRunnerSystemFailure}},
		Retry: &civ1alpha1.RetryPolicy{MaxRetries: retryBudget}}
}

func (w *world) watch(b *testing.B, name, project string, interval, maxActions int32) *civ1alpha1.JobWatch {
	b.Helper()
	jw := &civ1alpha1.JobWatch{Spec: civ1alpha1.JobWatchSpec{
		ConnectionRef:     civ1alpha1.ConnectionReference{Name: "gitlab"},
		Project:           intstr.FromString(project),
		IntervalSeconds:   interval,
		MaxActionsPerSync: maxActions,
		Rules:             []civ1alpha1.WatchRule{infraRule()},
	}}
	jw.Name, jw.Namespace = name, w.ns
	if err := w.h.k8s.Create(context.Background(), jw); err != nil {
		b.Fatal(err)
	}
	return jw
}

// syncNow asks the watch for a sync with the request annotation and waits for
// the sync that answers it.
func (w *world) syncNow(b *testing.B, jw *civ1alpha1.JobWatch) *civ1alpha1.JobWatch {
	b.Helper()
	ctx := context.Background()
	got := &civ1alpha1.JobWatch{}
	if err := w.h.k8s.Get(ctx, client.ObjectKeyFromObject(jw), got); err != nil {
		b.Fatal(err)
	}
	request := strconv.FormatInt(time.Now().UnixNano(), 10)
	patch := client.MergeFrom(got.DeepCopy())
	if got.Annotations == nil {
		got.Annotations = map[string]string{}
	}
	got.Annotations[civ1alpha1.SyncRequestAnnotation] = request
	if err := w.h.k8s.Patch(ctx, got, patch); err != nil {
		b.Fatal(err)
	}
	return w.waitSync(b, jw, func(jw *civ1alpha1.JobWatch) bool { return jw.Status.LastHandledRequest == request })
}

// waitSync waits until the watch has synced and done satisfies it.
func (w *world) waitSync(b *testing.B, jw *civ1alpha1.JobWatch, done func(*civ1alpha1.JobWatch) bool) *civ1alpha1.JobWatch {
	b.Helper()
	got := &civ1alpha1.JobWatch{}
	waitUntil(b, syncWaitDeadline, "a sync of JobWatch "+jw.Name, func() (bool, error) {
		if err := w.h.k8s.Get(context.Background(), client.ObjectKeyFromObject(jw), got); err != nil {
			return false, err
		}
		if got.Status.LastSyncTime == nil || got.Status.LastSync == nil || !done(got) {
			return false, nil
		}
		if !isTrue(got.Status.Conditions, civ1alpha1.ConditionReady) {
			return false, fmt.Errorf("not Ready: %+v", got.Status.Conditions)
		}
		return true, nil
	})
	return got
}

// fill gives a project size old, finished jobs in pipelines of 1000: mostly
// successes, every 25th a script failure (which the rule leaves alone).
func (w *world) fill(b *testing.B, project gitlabsim.Project, size int) {
	b.Helper()
	created := time.Now().Add(-72 * time.Hour)
	for done := 0; done < size; {
		n := min(pipelineJobs, size-done)
		jobs := make([]gitlabsim.JobSpec, n)
		for i := range jobs {
			jobs[i] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%03d", i), Status: gitlabsim.StatusSuccess}
			if (done+i)%25 == 0 {
				jobs[i].Status, jobs[i].FailureReason = gitlabsim.StatusFailed, gitlabsim.ReasonScriptFailure
			}
		}
		if _, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: project.ID, CreatedAt: &created, Jobs: jobs}); err != nil {
			b.Fatal(err)
		}
		done += n
	}
}

// failures adds a pipeline of n jobs that just failed with runner_system_failure,
// and returns their ids.
func (w *world) failures(b *testing.B, project gitlabsim.Project, n int) []int64 {
	b.Helper()
	jobs := make([]gitlabsim.JobSpec, n)
	for i := range jobs {
		jobs[i] = gitlabsim.JobSpec{Name: fmt.Sprintf("flaky-%02d", i), Status: gitlabsim.StatusFailed,
			FailureReason: gitlabsim.ReasonRunnerSystemFailure}
	}
	p, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: project.ID, Jobs: jobs})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 0, n)
	for _, j := range p.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// notOnce counts the jobs of ids that were not retried exactly once.
func notOnce(st gitlabsim.Stats, ids []int64) int {
	n := 0
	for _, id := range ids {
		if st.Actions[id].Retry != 1 {
			n++
		}
	}
	return n
}

// naiveWatcher is what the operator is compared with: a poller that lists
// every job of the project at each sync (offset pagination, 100 a page, with
// the GitLab Go client) and retries the newest attempt of each job that failed
// with runner_system_failure while the attempts GitLab lists for its name in
// its pipeline are within the budget. It keeps no state between syncs.
type naiveWatcher struct {
	gl      *gl.Client
	project int64
}

func newNaiveWatcher(b *testing.B, url string, project int64) *naiveWatcher {
	b.Helper()
	c, err := gl.NewClient(operatorToken, gl.WithBaseURL(url),
		gl.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)))
	if err != nil {
		b.Fatal(err)
	}
	return &naiveWatcher{gl: c, project: project}
}

type naiveSync struct {
	duration time.Duration
	scanned  int
	retried  int
}

func (n *naiveWatcher) sync(ctx context.Context) (naiveSync, error) {
	start := time.Now()
	type key struct {
		pipeline int64
		name     string
	}
	attempts := map[key]int{}
	newest := map[key]*gl.Job{}
	var out naiveSync
	opts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: 1}}
	for {
		jobs, resp, err := n.gl.Jobs.ListProjectJobs(n.project, opts, gl.WithContext(ctx))
		if err != nil {
			return out, err
		}
		for _, j := range jobs {
			k := key{j.Pipeline.ID, j.Name}
			attempts[k]++
			if cur := newest[k]; cur == nil || j.ID > cur.ID {
				newest[k] = j
			}
		}
		out.scanned += len(jobs)
		if resp.NextPage == 0 || len(jobs) == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for k, j := range newest {
		if j.Status == gitlabsim.StatusFailed && j.FailureReason == gitlabsim.ReasonRunnerSystemFailure && attempts[k]-1 < retryBudget {
			if _, _, err := n.gl.Jobs.RetryJob(n.project, j.ID, gl.WithContext(ctx)); err != nil {
				return out, err
			}
			out.retried++
		}
	}
	out.duration = time.Since(start)
	return out, nil
}

// costRow is one line of the API cost table.
type costRow struct {
	size                  int
	scenario              string
	opRequests, opStatus  float64 // per sync: counted by the simulator, and by the operator (status.lastSync.requests)
	opMS, opScanned       float64
	opActions             float64
	naiveRequests         float64
	naiveMS, naiveScanned float64
	naiveActions          float64
}

func benchSizes() []int {
	sizes := []int{1000, 10000, 100000}
	if v := os.Getenv("JOBOPS_BENCH_SIZES"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}

// BenchmarkJobWatchMemory: the process's heap and RSS before and
// after 100 JobWatches, each on its own project of 20 jobs (2 of them
// runner_system_failure, which the first sync retries), interval 10 s, have
// each synced twice.
//
// The work is done once whatever b.N is: run it with -benchtime 1x.
func BenchmarkJobWatchMemory(b *testing.B) {
	h := setup(b)
	ctx := context.Background()
	w := h.newWorld(b, "jw-mem", 3)
	var projects []gitlabsim.Project
	for i := range memoryWatches {
		p := w.project(b, fmt.Sprintf("mem/app-%03d", i))
		jobs := make([]gitlabsim.JobSpec, memoryWatchJobs)
		for j := range jobs {
			jobs[j] = gitlabsim.JobSpec{Name: fmt.Sprintf("job-%02d", j), Status: gitlabsim.StatusSuccess}
			if j < 2 {
				jobs[j].Status, jobs[j].FailureReason = gitlabsim.StatusFailed, gitlabsim.ReasonRunnerSystemFailure
			}
		}
		if _, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: p.ID, Jobs: jobs}); err != nil {
			b.Fatal(err)
		}
		projects = append(projects, p)
	}
	memBefore := readMemory()
	statsBefore := w.sim.Stats()
	cpuBefore := sampleCPU()

	start := time.Now()
	for i, p := range projects {
		w.watch(b, fmt.Sprintf("watch-%03d", i), p.PathWithNamespace, memoryInterval, 10)
	}
	firstSync := map[string]time.Time{}
	var allFirst, allSecond time.Duration
	var list civ1alpha1.JobWatchList
	waitUntil(b, 3*time.Minute, "every JobWatch to sync twice", func() (bool, error) {
		if err := h.k8s.List(ctx, &list, client.InNamespace(w.ns)); err != nil {
			return false, err
		}
		second := 0
		for _, jw := range list.Items {
			last := jw.Status.LastSyncTime
			if last == nil {
				continue
			}
			first, ok := firstSync[jw.Name]
			if !ok {
				firstSync[jw.Name] = last.Time
			} else if last.After(first) {
				second++
			}
		}
		if allFirst == 0 && len(firstSync) == memoryWatches {
			allFirst = time.Since(start)
		}
		if second == memoryWatches {
			allSecond = time.Since(start)
			return true, nil
		}
		return false, nil
	})
	cpuAfter := sampleCPU()
	statsAfter := w.sim.Stats()
	memAfter := readMemory()

	statusBytes, retried := 0, 0
	for _, jw := range list.Items {
		data, _ := json.Marshal(jw.Status)
		statusBytes += len(data)
		retried += int(jw.Status.TotalActions)
	}
	requests := requestsExcludingUser(statsAfter) - requestsExcludingUser(statsBefore)
	retriedTwice := 0
	for _, a := range statsAfter.Actions {
		if a.Retry > 1 {
			retriedTwice++
		}
	}

	b.ReportMetric(mib(memAfter.heapAlloc), "heap-MiB")
	b.ReportMetric(mib(memAfter.rss), "rss-MiB")
	b.ReportMetric(signedMiB(memAfter.heapAlloc, memBefore.heapAlloc)*1024/memoryWatches, "heap-KiB/watch")

	var out strings.Builder
	fmt.Fprintf(&out, "\n== Memory with %d JobWatches (one project of %d jobs each, interval %d s, one connection) ==\n",
		memoryWatches, memoryWatchJobs, memoryInterval)
	fmt.Fprintf(&out, "all synced once %.1f s after creation began, all twice after %.1f s; %d retries taken (%d jobs retried more than once); %d GitLab requests\n",
		allFirst.Seconds(), allSecond.Seconds(), retried, retriedTwice, requests)
	fmt.Fprintf(&out, "  %-30s %10s %10s %10s\n", "", "before", "after", "delta")
	fmt.Fprintf(&out, "  %-30s %10.1f %10.1f %+10.1f  MiB (%.1f KiB per watch)\n", "heap (HeapAlloc after GC)",
		mib(memBefore.heapAlloc), mib(memAfter.heapAlloc), signedMiB(memAfter.heapAlloc, memBefore.heapAlloc),
		signedMiB(memAfter.heapAlloc, memBefore.heapAlloc)*1024/memoryWatches)
	fmt.Fprintf(&out, "  %-30s %10.1f %10.1f %+10.1f  MiB\n", "RSS (VmRSS)", mib(memBefore.rss), mib(memAfter.rss), signedMiB(memAfter.rss, memBefore.rss))
	fmt.Fprintf(&out, "  %-30s %10d %10d %+10d\n", "goroutines", memBefore.goroutine, memAfter.goroutine, memAfter.goroutine-memBefore.goroutine)
	fmt.Fprintf(&out, "  status size: %.0f bytes of JSON per JobWatch on average\n", float64(statusBytes)/float64(max(len(list.Items), 1)))
	fmt.Fprintf(&out, "  %s\n", cpuReport(cpuBefore, cpuAfter))
	fmt.Fprintf(&out, "  (this process: the operator's manager, and also the simulator with its %d projects and the benchmark's client;\n"+
		"   'before' already holds what earlier benchmarks of the run left; kube-apiserver and etcd are separate processes)\n", memoryWatches)
	fmt.Print(out.String())

	// Stop the syncing before the simulator closes.
	if err := h.k8s.DeleteAllOf(ctx, &civ1alpha1.JobWatch{}, client.InNamespace(w.ns)); err != nil {
		b.Fatal(err)
	}
	waitUntil(b, time.Minute, "the JobWatches to go", func() (bool, error) {
		var left civ1alpha1.JobWatchList
		err := h.k8s.List(ctx, &left, client.InNamespace(w.ns))
		return err == nil && len(left.Items) == 0, err
	})
}

// BenchmarkJobWatchAPICost: requests and milliseconds per sync of a
// JobWatch with one Retry rule (runner_system_failure, maxRetries 2) on
// projects of 1,000, 10,000 and 100,000 jobs: its first sync, steady state
// (nothing new; the mean of 5 syncs), a sync after a pipeline of 50 new
// runner_system_failure jobs, and the sync after that (the 50 retries are
// still pending, so the scan reads back to them). Side by side, on a twin
// project with the same jobs, a naive watcher that lists every job each sync.
//
// Operator requests are counted by the simulator over the sync (and checked
// against status.lastSync.requests); operator milliseconds are
// status.lastSync.durationMilliseconds, which includes the status write that
// records pending actions before their calls. Naive milliseconds are the
// wall time of its sync in this process. Both make the same 50 retry calls in
// the failure scenario; they are in both request counts.
//
// The work is done once whatever b.N is: run it with -benchtime 1x.
func BenchmarkJobWatchAPICost(b *testing.B) {
	h := setup(b)
	ctx := context.Background()
	w := h.newWorld(b, "jw-cost", 2)
	var rows []costRow
	var notes []string
	for _, size := range benchSizes() {
		fillStart := time.Now()
		opProject := w.project(b, fmt.Sprintf("cost/operator-%d", size))
		naiveProject := w.project(b, fmt.Sprintf("cost/naive-%d", size))
		w.fill(b, opProject, size)
		w.fill(b, naiveProject, size)
		fmt.Printf("bench: %d jobs in each of two projects made in %.1f s\n", size, time.Since(fillStart).Seconds())
		naive := newNaiveWatcher(b, w.url, naiveProject.ID)

		// operator measures one operator sync: sync runs it and returns the watch after.
		operator := func(sync func() *civ1alpha1.JobWatch) (reqs, status, msec, scanned, actions float64) {
			before := requestsExcludingUser(w.sim.Stats())
			got := sync()
			reqs = float64(requestsExcludingUser(w.sim.Stats()) - before)
			l := got.Status.LastSync
			return reqs, float64(l.Requests), float64(l.DurationMilliseconds), float64(l.JobsScanned), float64(l.Actions)
		}
		naiveOnce := func() (reqs, msec, scanned, actions float64) {
			before := requestsExcludingUser(w.sim.Stats())
			s, err := naive.sync(ctx)
			if err != nil {
				b.Fatal(err)
			}
			return float64(requestsExcludingUser(w.sim.Stats()) - before), ms(s.duration), float64(s.scanned), float64(s.retried)
		}
		row := func(scenario string, syncs int, op func() *civ1alpha1.JobWatch) costRow {
			r := costRow{size: size, scenario: scenario}
			for range syncs {
				a, s, m, sc, ac := operator(op)
				r.opRequests += a / float64(syncs)
				r.opStatus += s / float64(syncs)
				r.opMS += m / float64(syncs)
				r.opScanned += sc / float64(syncs)
				r.opActions += ac / float64(syncs)
				na, nm, nsc, nac := naiveOnce()
				r.naiveRequests += na / float64(syncs)
				r.naiveMS += nm / float64(syncs)
				r.naiveScanned += nsc / float64(syncs)
				r.naiveActions += nac / float64(syncs)
			}
			return r
		}

		var jw *civ1alpha1.JobWatch
		rows = append(rows, row("first sync", 1, func() *civ1alpha1.JobWatch {
			jw = w.watch(b, fmt.Sprintf("cost-%d", size), opProject.PathWithNamespace, 3600, newFailures)
			return w.waitSync(b, jw, func(*civ1alpha1.JobWatch) bool { return true })
		}))
		rows = append(rows, row("steady", steadySyncs, func() *civ1alpha1.JobWatch { return w.syncNow(b, jw) }))
		opFailed := w.failures(b, opProject, newFailures)
		naiveFailed := w.failures(b, naiveProject, newFailures)
		rows = append(rows, row(fmt.Sprintf("%d new failures", newFailures), 1, func() *civ1alpha1.JobWatch { return w.syncNow(b, jw) }))
		rows = append(rows, row("after (50 retries open)", 1, func() *civ1alpha1.JobWatch { return w.syncNow(b, jw) }))
		st := w.sim.Stats()
		if n := notOnce(st, opFailed); n > 0 {
			notes = append(notes, fmt.Sprintf("%d jobs: %d of the %d failed jobs were not retried exactly once by the operator", size, n, newFailures))
		}
		if n := notOnce(st, naiveFailed); n > 0 {
			notes = append(notes, fmt.Sprintf("%d jobs: %d of the %d failed jobs were not retried exactly once by the naive watcher", size, n, newFailures))
		}
		if err := h.k8s.Delete(ctx, jw); err != nil {
			b.Fatal(err)
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\n== JobWatch API cost per sync: operator (keyset, cursor in status) vs naive (lists every job, offset, 100 a page) ==\n")
	fmt.Fprintf(&out, "rule: Retry runner_system_failure, maxRetries %d, maxActionsPerSync %d; requests counted by the simulator\n", retryBudget, newFailures)
	fmt.Fprintf(&out, "%-7s | %-26s | %7s | %7s | %7s | %9s | %9s | %10s | %6s | %10s | %8s\n",
		"jobs", "scenario", "op req", "op ms", "op read", "naive req", "naive ms", "naive read", "ratio", "read ratio", "ms ratio")
	fmt.Fprintf(&out, "%s\n", strings.Repeat("-", 132))
	times := func(a, b float64) string {
		if b <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0fx", a/b)
	}
	for _, r := range rows {
		fmt.Fprintf(&out, "%-7d | %-26s | %7.1f | %7.1f | %7.0f | %9.0f | %9.1f | %10.0f | %6s | %10s | %8s\n",
			r.size, r.scenario, r.opRequests, r.opMS, r.opScanned, r.naiveRequests, r.naiveMS, r.naiveScanned,
			times(r.naiveRequests, r.opRequests), times(r.naiveRequests-r.naiveActions, r.opRequests-r.opActions), times(r.naiveMS, r.opMS))
	}
	fmt.Fprintf(&out, "(req: GitLab requests per sync, including the retry calls, which both make alike; read: jobs read;\n"+
		" ratio: naive req / op req; read ratio: the same without the retry calls; op ms: status.lastSync.durationMilliseconds,\n"+
		" in whole milliseconds, including the status write of pending actions; naive ms: wall time of its sync in this process)\n")
	for _, r := range rows {
		if r.opRequests != r.opStatus {
			fmt.Fprintf(&out, "NOTE: %d jobs, %s: the simulator counted %.1f requests per sync, status.lastSync.requests says %.1f\n",
				r.size, r.scenario, r.opRequests, r.opStatus)
		}
		if r.opActions != r.naiveActions {
			fmt.Fprintf(&out, "NOTE: %d jobs, %s: the operator took %.0f actions, the naive watcher %.0f\n",
				r.size, r.scenario, r.opActions, r.naiveActions)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(&out, "NOTE: %s\n", n)
	}
	if len(notes) == 0 {
		fmt.Fprintf(&out, "every new failure was retried exactly once, by the operator and by the naive watcher\n")
	}
	fmt.Print(out.String())
	for _, r := range rows {
		if r.scenario != "steady" && !strings.HasSuffix(r.scenario, "new failures") {
			continue
		}
		tag := fmt.Sprintf("%dk-%s", r.size/1000, strings.Fields(r.scenario)[0])
		b.ReportMetric(r.opRequests, "op-req/sync-"+tag)
		b.ReportMetric(r.naiveRequests, "naive-req/sync-"+tag)
	}
}
