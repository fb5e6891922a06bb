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

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/controllers"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// floorLabel marks the objects of the floor measurement: the manager's scope
// excludes them (--watch-label-selector='!bench.jobops.dev/floor'), so it
// neither reads nor answers them while a plain client makes the writes the
// operator makes for one action.
const floorLabel = "bench.jobops.dev/floor"

// benchScope is the manager's scope in the benchmarks: everything but the
// floor's objects.
func benchScope() controllers.Scope {
	sel, err := labels.Parse("!" + floorLabel)
	if err != nil {
		panic(err)
	}
	return controllers.Scope{Selector: sel}
}

const (
	floorWorkers  = 8 // as many as the JobAction controller's workers
	steadyRate    = 50
	steadyFor     = 20 * time.Second
	floorShareMin = 0.9
)

// floorRate is what the API server allows for the writes of one action when
// nothing else runs: per object, the JobAction's Create (the user's), its
// JobActionRecord's Create (the claim), one status patch (the answer and the
// Complete condition of a Cancel), and, with withEvent, the Normal event
// announcing it; floorWorkers at a time. It returns objects per second.
func floorRate(b *testing.B, h *harness, ns string, n int, withEvent bool) float64 {
	b.Helper()
	ctx := context.Background()
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	errs := make(chan error, n)
	prefix := fmt.Sprintf("floor-%d-%t", time.Now().UnixNano()%100000, withEvent)
	start := time.Now()
	var wg sync.WaitGroup
	for range floorWorkers {
		wg.Go(func() {
			for i := range next {
				if err := floorWrites(ctx, h, ns, fmt.Sprintf("%s-%03d", prefix, i), withEvent); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatalf("floor: %v", err)
	}
	return float64(n) / elapsed.Seconds()
}

// floorWrites makes, for one object, the writes the operator makes for one
// Cancel JobAction.
func floorWrites(ctx context.Context, h *harness, ns, name string, withEvent bool) error {
	floor := map[string]string{floorLabel: "true"}
	ja := &civ1alpha1.JobAction{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: floor},
		Spec: civ1alpha1.JobActionSpec{ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"},
			Project: intstr.FromString("bench/floor"), Action: civ1alpha1.ActionCancel, JobID: 1}}
	if err := h.k8s.Create(ctx, ja); err != nil {
		return err
	}
	now := metav1.Now()
	rec := &civ1alpha1.JobActionRecord{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-0123456789", Labels: floor},
		Spec: civ1alpha1.JobActionRecordSpec{JobActionName: name, Identity: strings.Repeat("0", 64), Action: civ1alpha1.ActionCancel,
			Project: "bench/floor", Target: civ1alpha1.JobSummary{ID: 1},
			Claim: civ1alpha1.ActionClaim{JobActionUID: ja.UID, Claimant: "floor", Time: metav1.NewMicroTime(now.Time)}}}
	if err := h.k8s.Create(ctx, rec); err != nil {
		return err
	}
	base := ja.DeepCopy()
	ja.Status = civ1alpha1.JobActionStatus{ObservedGeneration: 1, TargetJob: &civ1alpha1.JobSummary{ID: 1, Status: "canceled"},
		ResultJob: &civ1alpha1.JobSummary{ID: 1, Status: "canceled"}, IntentTime: &now, ActionTime: &now, CompletionTime: &now}
	for _, c := range []struct{ t, s string }{{civ1alpha1.ConditionComplete, "True"}, {civ1alpha1.ConditionFailed, "False"}, {civ1alpha1.ConditionProgressing, "False"}} {
		ja.Status.Conditions = append(ja.Status.Conditions, metav1.Condition{Type: c.t, Status: metav1.ConditionStatus(c.s),
			ObservedGeneration: 1, Reason: civ1alpha1.ReasonSucceeded, Message: "GitLab accepted the cancel of job 1: it is now canceled", LastTransitionTime: now})
	}
	if err := h.k8s.Status().Patch(ctx, ja, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	if !withEvent {
		return nil
	}
	return h.k8s.Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + ".floor"},
		EventTime:  metav1.NewMicroTime(now.Time), ReportingController: "jobaction-controller", ReportingInstance: "floor",
		Action: "Cancel", Reason: civ1alpha1.ReasonSucceeded, Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: "JobAction", APIVersion: civ1alpha1.GroupVersion.String(), Namespace: ns, Name: name, UID: ja.UID},
		Note:      "GitLab accepted the cancel of job 1: it is now canceled",
	})
}

// outcomeWatch records when each JobAction of a namespace first shows a
// terminal condition, as an informer (what a user's kubectl get -w sees).
type outcomeWatch struct {
	mu       sync.Mutex
	outcomes map[string]jaOutcome
	want     int
	done     chan struct{}
	stop     context.CancelFunc
}

type jaOutcome struct {
	at     time.Time
	reason string
	failed bool
	msg    string
}

func watchOutcomes(b *testing.B, h *harness, ns string, want int) *outcomeWatch {
	b.Helper()
	ctx, stop := context.WithCancel(context.Background())
	w := &outcomeWatch{outcomes: map[string]jaOutcome{}, want: want, done: make(chan struct{}), stop: stop}
	informers, err := cache.New(h.cfg, cache.Options{Scheme: h.scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatal(err)
	}
	informer, err := informers.GetInformer(ctx, &civ1alpha1.JobAction{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    w.observe,
		UpdateFunc: func(_, obj any) { w.observe(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		b.Fatal("the JobAction informer did not sync")
	}
	b.Cleanup(stop)
	return w
}

func (w *outcomeWatch) observe(obj any) {
	ja, ok := obj.(*civ1alpha1.JobAction)
	if !ok {
		return
	}
	now := time.Now()
	var o *jaOutcome
	for _, c := range ja.Status.Conditions {
		if c.Status != "True" {
			continue
		}
		switch c.Type {
		case civ1alpha1.ConditionComplete:
			o = &jaOutcome{at: now, reason: c.Reason}
		case civ1alpha1.ConditionFailed:
			o = &jaOutcome{at: now, reason: c.Reason, failed: true, msg: c.Message}
		}
	}
	if o == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, seen := w.outcomes[ja.Name]; !seen {
		w.outcomes[ja.Name] = *o
		if len(w.outcomes) == w.want {
			close(w.done)
		}
	}
}

// wait waits for every outcome, or timeout; it returns a copy of what came.
func (w *outcomeWatch) wait(timeout time.Duration) map[string]jaOutcome {
	select {
	case <-w.done:
	case <-time.After(timeout):
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]jaOutcome, len(w.outcomes))
	for k, v := range w.outcomes {
		out[k] = v
	}
	return out
}

// BenchmarkJobActionSteady: JobActions arriving at a steady 50 a second for
// 20 seconds, each cancelling a running job, as a fleet of CI jobs asking
// for actions would send them. It prints Create-to-Complete p50 and p99: a
// burst of 500 cannot finish faster than 500 / floor, so a burst's p99 says
// little about what one request waits for; this does.
func BenchmarkJobActionSteady(b *testing.B) {
	h := setup(b)
	ctx := context.Background()
	w := h.newWorld(b, "steady", 2)
	project := w.project(b, "bench/steady")
	total := int(steadyRate * steadyFor / time.Second)
	jobIDs := runningJobs(b, w, project, total)
	watch := watchOutcomes(b, h, w.ns, total)
	statsBefore := w.sim.Stats()
	cpuBefore := sampleCPU()

	created := make([]time.Time, total)
	errs := make([]error, total)
	tick := time.NewTicker(time.Second / steadyRate)
	defer tick.Stop()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range total {
		<-tick.C
		wg.Go(func() {
			ja := &civ1alpha1.JobAction{Spec: civ1alpha1.JobActionSpec{ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"},
				Project: intstr.FromString(project.PathWithNamespace), Action: civ1alpha1.ActionCancel, JobID: jobIDs[i]}}
			ja.Name, ja.Namespace = fmt.Sprintf("steady-%04d", i), w.ns
			errs[i] = h.k8s.Create(ctx, ja)
			created[i] = time.Now()
		})
	}
	wg.Wait()
	got := watch.wait(benchTimeout())
	b.StopTimer()
	cpuAfter := sampleCPU()
	statsAfter := w.sim.Stats()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("creating steady-%04d: %v", i, err)
		}
	}

	var latencies []time.Duration
	for i := range total {
		if o, ok := got[fmt.Sprintf("steady-%04d", i)]; ok {
			latencies = append(latencies, max(o.at.Sub(created[i]), 0))
		}
	}
	slices.Sort(latencies)
	once, doubles, _ := cancelsOf(statsBefore, statsAfter, jobIDs)
	b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
	var out strings.Builder
	fmt.Fprintf(&out, "\n== JobAction steady arrival: %d Cancel JobActions a second for %s (%d in all) ==\n", steadyRate, steadyFor, total)
	fmt.Fprintf(&out, "  %-34s %-14s %-12s %s\n", "figure", "value", "target", "")
	fmt.Fprintf(&out, "  %-34s %-14s %-12s %s\n", "completed", fmt.Sprintf("%d of %d", len(latencies), total), "all", verdict(len(latencies) == total, float64(len(latencies))/float64(total)))
	fmt.Fprintf(&out, "  %-34s %-14s %-12s\n", "latency p50 (Create->Complete)", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 50))), "")
	fmt.Fprintf(&out, "  %-34s %-14s %-12s\n", "latency p90", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 90))), "")
	fmt.Fprintf(&out, "  %-34s %-14s %-12s %s\n", "latency p99", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 99))),
		fmt.Sprintf("< %.0f ms", ms(p99Target)), verdict(percentile(latencies, 99) < p99Target, float64(percentile(latencies, 99))/float64(p99Target)))
	fmt.Fprintf(&out, "  %-34s %-14s\n", "latency max", fmt.Sprintf("%.0f ms", ms(percentile(latencies, 100))))
	fmt.Fprintf(&out, "  %s\n", cpuReport(cpuBefore, cpuAfter))
	fmt.Fprintf(&out, "jobs canceled exactly once: %d; more than once: %d\n", once, doubles)
	fmt.Print(out.String())
	if err := h.k8s.DeleteAllOf(ctx, &civ1alpha1.JobAction{}, client.InNamespace(w.ns)); err != nil {
		fmt.Fprintln(os.Stderr, "bench: deleting JobActions:", err)
	}
}

// runningJobs makes n running jobs in the project, in pipelines of
// jobsPerPipeline, and returns their ids.
func runningJobs(b *testing.B, w *world, project gitlabsim.Project, n int) []int64 {
	b.Helper()
	var ids []int64
	for len(ids) < n {
		jobs := make([]gitlabsim.JobSpec, jobsPerPipeline)
		for i := range jobs {
			jobs[i] = gitlabsim.JobSpec{Name: fmt.Sprintf("shard-%03d", i), Status: gitlabsim.StatusRunning}
		}
		p, err := w.sim.CreatePipeline(gitlabsim.PipelineSpec{ProjectID: project.ID, Jobs: jobs})
		if err != nil {
			b.Fatal(err)
		}
		for _, j := range p.Jobs {
			ids = append(ids, j.ID)
		}
	}
	return ids[:n]
}

// cancelsOf counts, between two snapshots, the jobs canceled once, more
// than once, and not at all.
func cancelsOf(before, after gitlabsim.Stats, ids []int64) (once, more, none int) {
	for _, id := range ids {
		switch after.Actions[id].Cancel - before.Actions[id].Cancel {
		case 0:
			none++
		case 1:
			once++
		default:
			more++
		}
	}
	return once, more, none
}
