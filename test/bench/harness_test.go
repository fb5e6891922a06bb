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

// Package bench_test holds the operator's benchmarks (make bench): JobAction
// throughput, JobWatch API cost and memory, and a fleet of 1,000 JobWatches
// on one manager. Each runs the real controllers in a manager, in this
// process, against envtest (kube-apiserver and etcd as child processes) and
// the GitLab simulator, and prints its figures; nothing is asserted against
// a target.
//
// There are no Test functions: plain `go test ./...` compiles this package and
// starts nothing. The control plane and the manager start on the first
// benchmark that needs them and stop in TestMain.
//
// Run: make bench, or
//
//	KUBEBUILDER_ASSETS=$PWD/bin/k8s/1.36.3-linux-amd64 go test -run '^$' -bench . -benchtime 1x ./test/bench/
//
// Knobs, all optional:
//   - JOBOPS_BENCH_LOG=FILE writes the manager's log there (default: discarded).
//   - JOBOPS_BENCH_MAX_CONCURRENT_RECONCILES=N sets the JobAction and JobWatch
//     workers: a what-if, labelled as such in the output.
//   - JOBOPS_BENCH_SIZES=1000,10000 sets the project sizes of the API cost table.
//   - JOBOPS_BENCH_JA_TIMEOUT=60s bounds the wait for the 500 JobActions (default 3m).
//   - JOBOPS_BENCH_FLEET_WATCHES=1000, JOBOPS_BENCH_FLEET_INTERVAL=30s,
//     JOBOPS_BENCH_FLEET_PHASE=90s and JOBOPS_BENCH_FLEET_RPS=60 shape the
//     fleet benchmark (watches, their interval, each measured phase, the
//     connection's rate limit).
package bench_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/controllers"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
	"github.com/jobops-dev/gitlab-job-operator/internal/testenv"
)

const (
	operatorToken = "glpat-bench-operator-0123456789"

	// The client-side limiter of every Kubernetes client here (manager and
	// benchmark). envtest already sets 1000/2000 on the config it returns;
	// ctrl.GetConfig would turn the limiter off (QPS -1) and leave it to the
	// API server's priority and fairness. Setting it explicitly keeps the
	// figure from depending on either default.
	kubeQPS   = 1000
	kubeBurst = 2000

	// The GitLabConnection's own limiter, at the maximum the CRD allows.
	gitlabRPS   = 1000
	gitlabBurst = 1000
)

// harness is the control plane, the manager and a client, shared by every
// benchmark of the run.
type harness struct {
	env    *envtest.Environment
	cfg    *rest.Config
	k8s    client.WithWatch
	scheme *kruntime.Scheme
	cancel context.CancelFunc
	done   chan error
	writes *writeCounter // the manager's writes to the API server
}

var (
	// workersSetting says how many reconciles a controller runs at once.
	workersSetting = "as shipped (8 JobAction workers, 4 JobWatch workers)"

	harnessOnce sync.Once
	shared      *harness
	sharedErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// setup returns the shared harness, starting it on first use.
func setup(b *testing.B) *harness {
	b.Helper()
	harnessOnce.Do(func() { shared, sharedErr = startHarness() })
	if sharedErr != nil {
		b.Fatal(sharedErr)
	}
	return shared
}

func startHarness() (*harness, error) {
	// The manager's log goes nowhere unless JOBOPS_BENCH_LOG names a file:
	// 500 reconciles would drown the figures.
	sink := io.Discard
	if path := os.Getenv("JOBOPS_BENCH_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		sink = f
	}
	if sink == io.Discard {
		ctrl.SetLogger(logr.Discard())
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(sink), zap.UseDevMode(true)))
	}

	// Per-verb latency of every Kubernetes request of the process, and the
	// time spent in the client-side limiter, to tell what bounds a figure.
	ctrlmetrics.RegisterRESTClientMetrics(ctrlmetrics.MetricRequestLatency, ctrlmetrics.MetricRateLimiterLatency)

	env, cfg, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = kubeQPS, kubeBurst

	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, stopOnErr(env, err)
	}
	if err := civ1alpha1.AddToScheme(scheme); err != nil {
		return nil, stopOnErr(env, err)
	}
	k8s, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, stopOnErr(env, err)
	}
	// The objects of the floor measurement are outside the manager's scope.
	controllerOpts := controllers.Options{ConnectionRecheckInterval: time.Hour, Scope: benchScope()}
	opts := ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllerOpts.Scope.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	}
	// A what-if for experiments, not what make bench measures: the workers of
	// the JobAction and JobWatch controllers.
	if n, err := strconv.Atoi(os.Getenv("JOBOPS_BENCH_MAX_CONCURRENT_RECONCILES")); err == nil && n > 0 {
		controllerOpts.JobActionWorkers, controllerOpts.JobWatchWorkers = n, n
		workersSetting = fmt.Sprintf("%d JobAction and JobWatch workers (JOBOPS_BENCH_MAX_CONCURRENT_RECONCILES, a what-if: not as shipped)", n)
	}
	// The manager's own client counts its writes to the API server.
	writes := &writeCounter{byKind: map[string]int64{}}
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.Wrap(writes.wrap)
	mgr, err := ctrl.NewManager(mgrCfg, opts)
	if err != nil {
		return nil, stopOnErr(env, err)
	}
	// Connections are checked once; a re-check would add GET /user requests
	// to the figures.
	if err := controllers.SetupAll(mgr, controllerOpts); err != nil {
		return nil, stopOnErr(env, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{env: env, cfg: cfg, k8s: k8s, scheme: scheme, cancel: cancel, done: make(chan error, 1), writes: writes}
	go func() { h.done <- mgr.Start(ctx) }()
	return h, nil
}

func stopOnErr(env *envtest.Environment, err error) error {
	_ = env.Stop()
	return err
}

func (h *harness) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: manager:", err)
		}
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "bench: manager did not stop within 30s")
	}
	if err := h.env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: stopping envtest:", err)
	}
}

// world is one benchmark's simulator, namespace and Ready GitLabConnection
// named "gitlab". Each benchmark has its own simulator, so its request
// counters see only its own traffic, and its memory goes when it ends.
type world struct {
	h   *harness
	sim *gitlabsim.Server
	url string
	ns  string
}

func (h *harness) newWorld(b *testing.B, name string, seed int64) *world {
	b.Helper()
	ctx := context.Background()
	sim := gitlabsim.New(gitlabsim.Options{Seed: seed})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	if _, err := sim.CreateUser(gitlabsim.UserSpec{Username: "operator", Token: operatorToken}); err != nil {
		b.Fatal(err)
	}
	ns := &corev1.Namespace{}
	ns.GenerateName = "bench-" + name + "-"
	if err := h.k8s.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	w := &world{h: h, sim: sim, url: url, ns: ns.Name}
	secret := &corev1.Secret{StringData: map[string]string{"token": operatorToken}}
	secret.Name, secret.Namespace = "gitlab-token", w.ns
	if err := h.k8s.Create(ctx, secret); err != nil {
		b.Fatal(err)
	}
	conn := &civ1alpha1.GitLabConnection{Spec: civ1alpha1.GitLabConnectionSpec{
		URL: url, TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token"},
		RequestsPerSecond: gitlabRPS, Burst: gitlabBurst, TimeoutSeconds: 30,
	}}
	conn.Name, conn.Namespace = "gitlab", w.ns
	if err := h.k8s.Create(ctx, conn); err != nil {
		b.Fatal(err)
	}
	// Delete the connection before the simulator closes (cleanups run last
	// first), so nothing in the manager keeps calling a closed address.
	b.Cleanup(func() { _ = h.k8s.Delete(context.Background(), conn) })
	waitUntil(b, 30*time.Second, "GitLabConnection Ready", func() (bool, error) {
		got := &civ1alpha1.GitLabConnection{}
		if err := h.k8s.Get(ctx, client.ObjectKeyFromObject(conn), got); err != nil {
			return false, err
		}
		return isTrue(got.Status.Conditions, civ1alpha1.ConditionReady), nil
	})
	return w
}

func (w *world) project(b *testing.B, path string) gitlabsim.Project {
	b.Helper()
	p, err := w.sim.CreateProject(gitlabsim.ProjectSpec{PathWithNamespace: path})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// requestsExcludingUser is the simulator's request total less GET /user, the
// connection checks, which belong to no action or sync.
func requestsExcludingUser(st gitlabsim.Stats) int64 {
	return st.TotalRequests - st.Count(gitlabsim.RouteUser, 0)
}

// waitUntil polls cond every 50ms until it is true, failing the benchmark
// after timeout.
func waitUntil(b *testing.B, timeout time.Duration, what string, cond func() (bool, error)) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
}

func isTrue(conditions []metav1.Condition, t string) bool {
	for _, c := range conditions {
		if c.Type == t && c.Status == "True" {
			return true
		}
	}
	return false
}

// memory is the process's Go heap after a full GC and its resident set.
type memory struct {
	heapAlloc uint64 // bytes, runtime.MemStats.HeapAlloc after GC
	heapSys   uint64 // bytes obtained from the OS for the heap
	rss       uint64 // bytes, VmRSS from /proc/self/status
	goroutine int
}

func readMemory() memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heapAlloc: ms.HeapAlloc, heapSys: ms.HeapSys, rss: vmRSS(), goroutine: runtime.NumGoroutine()}
}

// vmRSS reads VmRSS from /proc/self/status (0 where there is no procfs).
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fields := strings.Fields(rest) // "123456 kB"
			if len(fields) >= 1 {
				kb, _ := strconv.ParseUint(fields[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func signedMiB(after, before uint64) float64 { return (float64(after) - float64(before)) / (1 << 20) }

// metricSnapshot holds, for every series of controller-runtime's registry
// (where the controllers, the GitLab client, the workqueues and client-go
// record), a counter's value or a histogram's sum and count.
type metricSnapshot map[string]metricValue

type metricValue struct{ value, sum, count float64 }

func gatherMetrics() metricSnapshot {
	out := metricSnapshot{}
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return out
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = metricValue{value: m.GetCounter().GetValue()}
			case m.GetGauge() != nil:
				out[key] = metricValue{value: m.GetGauge().GetValue()}
			case m.GetHistogram() != nil:
				out[key] = metricValue{sum: m.GetHistogram().GetSampleSum(), count: float64(m.GetHistogram().GetSampleCount())}
			}
		}
	}
	return out
}

// delta sums, over the series whose key starts with name and contains every
// fragment, the change of value, sum and count since before.
func (after metricSnapshot) delta(before metricSnapshot, name string, fragments ...string) metricValue {
	var d metricValue
next:
	for key, v := range after {
		if !strings.HasPrefix(key, name+"{") {
			continue
		}
		for _, f := range fragments {
			if !strings.Contains(key, f) {
				continue next
			}
		}
		b := before[key]
		d.value += v.value - b.value
		d.sum += v.sum - b.sum
		d.count += v.count - b.count
	}
	return d
}

// meanMS is a histogram delta's mean in milliseconds.
func (v metricValue) meanMS() float64 {
	if v.count == 0 {
		return 0
	}
	return v.sum / v.count * 1000
}

// cpuSample is the CPU time used so far by this process and by each child
// process (kube-apiserver and etcd, started by envtest), and the machine's
// busy and total time, from procfs, in seconds.
type cpuSample struct {
	self     float64
	children map[string]float64 // by command name
	busy     float64
	total    float64
	at       time.Time
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100.0

func sampleCPU() cpuSample {
	s := cpuSample{children: map[string]float64{}, at: time.Now()}
	self := os.Getpid()
	_, s.self = procStat(self)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if ppid, comm, cpu, ok := procStatFull(pid); ok && ppid == self {
			s.children[comm] += cpu
		}
	}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		fields := strings.Fields(line)
		for i, f := range fields[1:] {
			v, _ := strconv.ParseFloat(f, 64)
			if i >= 8 { // guest time is already counted in user
				break
			}
			s.total += v / clockTicks
			if i != 3 && i != 4 { // idle, iowait
				s.busy += v / clockTicks
			}
		}
	}
	return s
}

func procStat(pid int) (string, float64) {
	_, comm, cpu, _ := procStatFull(pid)
	return comm, cpu
}

// procStatFull reads a process's parent, command name and CPU seconds.
func procStatFull(pid int) (ppid int, comm string, cpu float64, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", 0, false
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, "", 0, false
	}
	comm = s[open+1 : end]
	fields := strings.Fields(s[end+1:]) // fields[0] is the state, field 3 of stat
	if len(fields) < 13 {
		return 0, "", 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return ppid, comm, (utime + stime) / clockTicks, true
}

// cpuReport says where the CPU went between two samples.
func cpuReport(before, after cpuSample) string {
	wall := after.at.Sub(before.at).Seconds()
	var parts []string
	parts = append(parts, fmt.Sprintf("this process (operator, simulator, benchmark) %.1f s", after.self-before.self))
	names := make([]string, 0, len(after.children))
	for name := range after.children {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s", name, after.children[name]-before.children[name]))
	}
	busy := 0.0
	if t := after.total - before.total; t > 0 {
		busy = (after.busy - before.busy) / t * 100
	}
	return fmt.Sprintf("CPU over %.1f s wall on %d cores: %s; machine busy %.0f%%",
		wall, runtime.NumCPU(), strings.Join(parts, ", "), busy)
}
