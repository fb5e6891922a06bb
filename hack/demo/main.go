// Command demo is `make demo`: the operator's main job on a world of its own.
// It builds the manager and the GitLab simulator, starts kube-apiserver and
// etcd (the envtest binaries), the simulator with its demo world and its
// runner lifecycle on, and the manager; applies config/demo; and shows the
// objects live until they settle. Then it keeps everything running for
// kubectl until Ctrl-C, and stops every process it started.
//
// With DEMO_EXIT=1 (or -exit) it exits once the objects have settled: 0 if
// each reached the outcome its demo.jobops.dev/expect annotation names, 1
// otherwise. CI runs it that way.
//
// Every way out stops what it started: normal exit, Ctrl-C, SIGTERM, SIGHUP,
// a closed stdout pipe. Only SIGKILL cannot be caught: then the simulator and
// the manager die with the demo (devenv ties them to it), and kube-apiserver
// and etcd, which envtest starts, are stopped by the next demo that uses the
// same directory (see leftovers.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
)

// Exit codes.
const (
	exitOK          = 0
	exitMissed      = 1 // an object did not reach its expected outcome
	exitError       = 2 // the demo could not run
	exitInterrupted = 130
)

type options struct {
	root       string
	out        string        // bin/demo: env, kubeconfig, logs
	manager    string        // prebuilt manager; empty: go build into bin/
	gitlabSim  string        // prebuilt gitlab-sim; empty: go build into bin/
	exit       bool          // DEMO_EXIT: exit once settled
	timeout    time.Duration // how long to wait for the objects to settle
	refresh    time.Duration // table refresh interval
	demoConfig string        // config/demo
	verbose    bool          // -v: envtest's log on stderr
}

func main() {
	// Every signal that would end the demo without running its cleanup is
	// caught: Ctrl-C, kill, a closed terminal, and a closed pipe on stdout
	// (`make demo | head`), which would otherwise kill it at the next write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run returns the exit code; every process it started is stopped by then.
func run(ctx context.Context, args []string) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return exitError
	}
	setLogger(o.verbose)
	d := &demo{o: o, out: os.Stdout}
	code, err := d.run(ctx)
	if cerr := d.cleanup(); cerr != nil {
		fmt.Fprintln(os.Stderr, "demo: stopping:", cerr)
	}
	switch {
	case ctx.Err() != nil && code != exitOK:
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
		return exitInterrupted
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo:", err)
		return exitError
	}
	return code
}

func parseFlags(args []string) (options, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return options{}, err
	}
	root, err := devenv.RepoRoot(cwd)
	if err != nil {
		return options{}, err
	}
	o := options{root: root}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", filepath.Join(root, "bin", "demo"), "directory for env, kubeconfig and logs/ (one running demo per directory)")
	fs.StringVar(&o.manager, "manager", "", "manager binary to run (default: go build ./cmd/manager into bin/)")
	fs.StringVar(&o.gitlabSim, "gitlab-sim", "", "gitlab-sim binary to run (default: go build ./cmd/gitlab-sim into bin/)")
	fs.BoolVar(&o.exit, "exit", isTrue(os.Getenv("DEMO_EXIT")), "exit once the objects settle: 0 if each met its expectation (env DEMO_EXIT=1)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "how long the objects may take to settle")
	fs.DurationVar(&o.refresh, "refresh", 2*time.Second, "how often the table is refreshed")
	fs.StringVar(&o.demoConfig, "config", filepath.Join(root, "config", "demo"), "directory of the manifests to apply")
	fs.BoolVar(&o.verbose, "v", false, "also print what envtest logs while starting and stopping kube-apiserver and etcd")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.out, err = filepath.Abs(o.out); err != nil {
		return o, err
	}
	return o, nil
}

func isTrue(s string) bool { return s == "1" || s == "true" || s == "yes" }
