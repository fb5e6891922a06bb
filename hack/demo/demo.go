package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
)

// Namespace is where the demo's objects live.
const Namespace = "jobops-demo"

// The simulator's runner timings: short, so that a retried or played job runs
// and finishes while the user watches, yet long enough to see it pending and
// running in the table.
var lifecycle = devenv.Lifecycle{Pending: time.Second, Running: 3 * time.Second, LogInterval: 500 * time.Millisecond}

// demo is one run: what it started, in order, so cleanup stops it in reverse.
type demo struct {
	o   options
	out io.Writer

	cp      *devenv.ControlPlane
	sim     *devenv.Simulator
	manager *devenv.Manager
	stops   []func() error
	files   []string // removed at exit: they describe a running demo
}

func (d *demo) logf(format string, args ...any) {
	fmt.Fprintf(d.out, "demo: "+format+"\n", args...)
}

func (d *demo) logDir() string { return filepath.Join(d.o.out, "logs") }

// run starts everything, applies the manifests and watches them.
func (d *demo) run(ctx context.Context) (int, error) {
	if err := d.claimOutDir(); err != nil {
		return exitError, err
	}
	bins, err := d.binaries(ctx)
	if err != nil {
		return exitError, err
	}
	d.logf("finding the envtest binaries (kube-apiserver, etcd, kubectl); the first run builds them, for minutes")
	assets, err := devenv.EnvtestAssets(ctx, d.o.root, os.Stderr)
	if err != nil {
		return exitError, err
	}
	if err := d.startControlPlane(assets); err != nil {
		return exitError, err
	}
	if err := d.startSimulator(ctx, bins.GitLabSim); err != nil {
		return exitError, err
	}
	if err := d.setUpNamespace(ctx); err != nil {
		return exitError, err
	}
	if err := d.startManager(ctx, bins.Manager); err != nil {
		return exitError, err
	}
	if err := d.connectWebhooks(ctx); err != nil {
		return exitError, err
	}
	if err := d.writeEnv(); err != nil {
		return exitError, err
	}
	if _, err := d.cp.Kubectl.Run(ctx, "apply", "-n", Namespace, "-f", d.o.demoConfig); err != nil {
		return exitError, err
	}
	d.logf("applied %s", d.rel(d.o.demoConfig))
	results, err := d.watch(ctx)
	if err != nil {
		return exitError, err
	}
	d.report(results)
	code := exitOK
	if !allMet(results) {
		code = exitMissed
	}
	if d.o.exit {
		return code, nil
	}
	d.instructions()
	return code, d.wait(ctx)
}

// claimOutDir makes the output directory and refuses a second demo in it:
// two would overwrite each other's kubeconfig and env.
func (d *demo) claimOutDir() error {
	if err := os.MkdirAll(d.logDir(), 0o755); err != nil {
		return err
	}
	pidFile := filepath.Join(d.o.out, "demo.pid")
	if pid, alive := runningPid(pidFile); alive {
		return fmt.Errorf("a demo is already running (pid %d) with %s; stop it, or pass -out", pid, d.rel(d.o.out))
	}
	if err := d.stopLeftovers(); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return err
	}
	d.files = append(d.files, pidFile)
	// What an earlier, killed demo left: env and kubeconfig would point at
	// nothing, and its logs would be appended to and confuse a reader.
	for _, path := range []string{
		filepath.Join(d.o.out, "env"), filepath.Join(d.o.out, "kubeconfig"),
		filepath.Join(d.logDir(), "manager.log"), filepath.Join(d.logDir(), "gitlab-sim.log"), filepath.Join(d.logDir(), "control-plane.log"),
	} {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// binaries builds bin/manager and bin/gitlab-sim, unless given prebuilt.
func (d *demo) binaries(ctx context.Context) (devenv.Binaries, error) {
	if d.o.manager != "" && d.o.gitlabSim != "" {
		return devenv.Binaries{Manager: d.o.manager, GitLabSim: d.o.gitlabSim}, nil
	}
	bin := filepath.Join(d.o.root, "bin")
	d.logf("building %s and %s", d.rel(filepath.Join(bin, "manager")), d.rel(filepath.Join(bin, "gitlab-sim")))
	start := time.Now()
	b, err := devenv.Build(ctx, d.o.root, bin, false)
	if err == nil {
		d.logf("built in %s", time.Since(start).Round(100*time.Millisecond))
	}
	return b, err
}

func (d *demo) startControlPlane(assets string) error {
	d.logf("starting kube-apiserver and etcd from %s", d.rel(assets))
	start := time.Now()
	cp, err := devenv.StartControlPlane(devenv.ControlPlaneOptions{
		AssetsDir: assets, CRDDir: filepath.Join(d.o.root, "config", "crd", "bases"),
		KubeconfigPath: filepath.Join(d.o.out, "kubeconfig"), LogPath: filepath.Join(d.logDir(), "control-plane.log"),
	})
	if err != nil {
		return err
	}
	d.cp = cp
	d.stops = append(d.stops, cp.Stop)
	d.files = append(d.files, cp.Kubeconfig)
	if err := d.recordControlPlane(); err != nil {
		return err
	}
	d.logf("kube-apiserver ready at %s with the CRDs installed, in %s", cp.Config.Host, time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (d *demo) startSimulator(ctx context.Context, binary string) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sim, err := devenv.StartSimulator(wctx, devenv.SimulatorOptions{
		Binary: binary, World: "demo", Lifecycle: &lifecycle, LogPath: filepath.Join(d.logDir(), "gitlab-sim.log"),
	})
	if err != nil {
		return err
	}
	d.sim = sim
	d.stops = append(d.stops, func() error { return sim.Stop(10 * time.Second) })
	d.logf("gitlab-sim (pid %d) serving the demo world at %s; runner lifecycle: pending %s, running %s",
		sim.Pid(), sim.URL, lifecycle.Pending, lifecycle.Running)
	return nil
}

func (d *demo) startManager(ctx context.Context, binary string) error {
	m, err := devenv.StartManager(ctx, devenv.ManagerOptions{
		Binary: binary, Kubeconfig: d.cp.Kubeconfig, LogPath: filepath.Join(d.logDir(), "manager.log"),
	})
	d.manager = m // stopped even when it never became ready
	d.stops = append(d.stops, func() error { return m.Stop(15 * time.Second) })
	if err != nil {
		return err
	}
	d.logf("manager (pid %d) running", m.Process().Pid())
	return nil
}

// cleanup stops what run started, newest first: the manager before the
// simulator and the API server it talks to.
func (d *demo) cleanup() error {
	var errs []error
	for i := len(d.stops) - 1; i >= 0; i-- {
		errs = append(errs, d.stops[i]())
	}
	for _, f := range d.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// wait keeps the demo up until Ctrl-C, or until a process it runs dies.
func (d *demo) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		fmt.Fprintln(d.out)
		d.logf("stopping")
		return nil
	case <-d.manager.Process().Done():
		return fmt.Errorf("the manager exited: %w", d.manager.Process().Wait())
	case <-d.sim.Done():
		return fmt.Errorf("gitlab-sim exited: %w", d.sim.Wait())
	}
}

// rel shortens a path under the working directory for messages.
func (d *demo) rel(path string) string {
	cwd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(cwd, path); err == nil && !filepath.IsAbs(r) && len(r) < len(path) && r[:min(2, len(r))] != ".." {
		return r
	}
	return path
}
