// Command gitlab-sim serves a simulated GitLab Jobs API (see package
// internal/gitlabsim) for demos, end-to-end tests and trying policies:
//
//	go run ./cmd/gitlab-sim --world demo
//	curl -H 'PRIVATE-TOKEN: glpat-demo-operator' http://127.0.0.1:8929/api/v4/projects/platform%2Fapp/jobs
//
// The demo world is a fixture (internal/gitlabsim/demo.yaml);
// --print-demo-fixture prints it, to copy and change, and --world empty
// --fixture my-world.yaml loads the copy instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "gitlab-sim:", err)
		os.Exit(1)
	}
}

type config struct {
	listen        string
	baseURL       string
	world         string
	fixture       string
	adminToken    string
	demoToken     string
	jobsRateLimit int
	seed          int64
	lifecycle     bool
	pending       time.Duration
	running       time.Duration
	logInterval   time.Duration
	canceling     time.Duration
	version       string
	printDemo     bool
	hookURL       string
	hookToken     string
	hookEvents    string
	hookInsecure  bool
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("gitlab-sim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8929", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&c.baseURL, "base-url", "", "public URL for web_url and pagination links (default: http://<listen address>)")
	fs.StringVar(&c.world, "world", "demo", "initial world: demo or empty")
	fs.StringVar(&c.fixture, "fixture", "", "YAML or JSON file with users, projects, pipelines and agents to create (after the world)")
	fs.StringVar(&c.adminToken, "admin-token", "", "require this X-Sim-Admin-Token on /-/sim (empty: open)")
	fs.StringVar(&c.demoToken, "demo-token", gitlabsim.DemoToken, "personal access token of the demo world's user")
	fs.IntVar(&c.jobsRateLimit, "jobs-rate-limit", 600, "GET /projects/:id/jobs requests a minute per user (0: off)")
	fs.Int64Var(&c.seed, "seed", 1, "seed of every random choice (flakiness, faults)")
	fs.BoolVar(&c.lifecycle, "lifecycle", false, "run the lifecycle engine: pending -> running -> success|failed")
	fs.DurationVar(&c.pending, "pending-duration", 2*time.Second, "lifecycle: time a job waits in pending")
	fs.DurationVar(&c.running, "running-duration", 5*time.Second, "lifecycle: time a job runs")
	fs.DurationVar(&c.logInterval, "log-interval", time.Second, "lifecycle: time between log lines of a running job")
	fs.DurationVar(&c.canceling, "canceling-duration", time.Second, "time a canceled running job stays canceling (negative: until told)")
	fs.StringVar(&c.version, "gitlab-version", "17.11.0", "version reported by GET /api/v4/version")
	fs.BoolVar(&c.printDemo, "print-demo-fixture", false, "print the demo world's fixture (YAML) and exit")
	fs.StringVar(&c.hookURL, "hook-url", "", "register a webhook with this URL on every project of the world at start")
	fs.StringVar(&c.hookToken, "hook-token", "", "secret token of --hook-url, sent as X-Gitlab-Token (default $GITLAB_SIM_HOOK_TOKEN)")
	fs.StringVar(&c.hookEvents, "hook-events", "job,pipeline", "events --hook-url receives: job, pipeline or job,pipeline")
	fs.BoolVar(&c.hookInsecure, "hook-insecure-skip-verify", false, "do not verify --hook-url's TLS certificate")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.world != "demo" && c.world != "empty" {
		return c, fmt.Errorf("--world %q: want demo or empty", c.world)
	}
	if c.hookToken == "" {
		c.hookToken = os.Getenv("GITLAB_SIM_HOOK_TOKEN")
	}
	for _, e := range strings.Split(c.hookEvents, ",") {
		if e != "job" && e != "pipeline" {
			return c, fmt.Errorf("--hook-events %q: want job, pipeline or job,pipeline", c.hookEvents)
		}
	}
	return c, nil
}

// run serves until ctx ends; the tests call it with their own context.
func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if c.printDemo {
		_, err := out.Write(gitlabsim.DemoFixture)
		return err
	}
	opts := gitlabsim.Options{
		BaseURL: c.baseURL, AdminToken: c.adminToken, JobsRateLimitPerMinute: c.jobsRateLimit, Seed: c.seed,
		CancelingDuration: c.canceling, Version: c.version,
	}
	if c.lifecycle {
		opts.Lifecycle = &gitlabsim.LifecycleOptions{
			PendingDuration: c.pending, RunningDuration: c.running, LogInterval: c.logInterval,
		}
	}
	srv := gitlabsim.New(opts)
	defer srv.Close()
	url, err := srv.Start(c.listen)
	if err != nil {
		return err
	}
	if c.baseURL != "" {
		url = srv.URL()
	}
	fmt.Fprintf(out, "gitlab-sim listening on %s (API %s/api/v4, admin %s/-/sim)\n", url, url, url)

	if c.world == "demo" {
		w, err := gitlabsim.LoadDemoWorld(srv, gitlabsim.DemoOptions{Token: c.demoToken})
		if err != nil {
			return err
		}
		printDemo(out, w)
	}
	if c.fixture != "" {
		data, err := os.ReadFile(c.fixture)
		if err != nil {
			return err
		}
		f, err := gitlabsim.ParseFixture(data)
		if err != nil {
			return err
		}
		res, err := gitlabsim.LoadFixture(srv, f)
		if err != nil {
			return err
		}
		printFixture(out, res)
	}
	if c.hookURL != "" {
		if err := registerHooks(srv, c, out); err != nil {
			return err
		}
	}
	if c.lifecycle {
		fmt.Fprintf(out, "lifecycle on: pending %s, running %s, a log line every %s\n", c.pending, c.running, c.logInterval)
	}
	fmt.Fprintln(out, "ready")

	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	return srv.Close()
}

// registerHooks puts --hook-url on every project the world has, after the
// world is loaded: the receiver hears what changes from then on.
func registerHooks(srv *gitlabsim.Server, c config, out io.Writer) error {
	verify := !c.hookInsecure
	for _, pid := range srv.ProjectIDs() {
		h, err := srv.CreateHook(gitlabsim.HookSpec{
			ProjectID: pid, URL: c.hookURL, Token: c.hookToken, EnableSSLVerification: &verify,
			JobEvents: strings.Contains(c.hookEvents, "job"), PipelineEvents: strings.Contains(c.hookEvents, "pipeline"),
		})
		if err != nil {
			return fmt.Errorf("--hook-url: %w", err)
		}
		fmt.Fprintf(out, "hook %d on project %d -> %s (%s events)\n", h.ID, pid, h.URL, c.hookEvents)
	}
	return nil
}

// The simulator prints its own fake tokens: they exist to be used by hand.
func printDemo(out io.Writer, w gitlabsim.DemoWorld) {
	fmt.Fprintf(out, "demo world:\n")
	fmt.Fprintf(out, "  user %s (id %d) token %s\n", w.Username, w.UserID, w.Token)
	fmt.Fprintf(out, "  user viewer (id %d, reporter on %s) token %s\n", w.ViewerID, w.AppProjectPath, w.ViewerToken)
	fmt.Fprintf(out, "  project %s id %d, project %s id %d\n", w.AppProjectPath, w.AppProjectID, w.InfraProjectPath, w.InfraProjectID)
	keys := make([]string, 0, len(w.Jobs))
	for k := range w.Jobs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return w.Jobs[keys[a]] < w.Jobs[keys[b]] })
	for _, k := range keys {
		fmt.Fprintf(out, "  job %3d %s\n", w.Jobs[k], k)
	}
	fmt.Fprintf(out, "  running job %d job token %s\n", w.RunningJobID, w.RunningJobToken)
}

func printFixture(out io.Writer, r gitlabsim.FixtureResult) {
	for _, u := range r.Users {
		fmt.Fprintf(out, "fixture user %s (id %d) token %s\n", u.Username, u.ID, u.Token)
	}
	for _, p := range r.Projects {
		fmt.Fprintf(out, "fixture project %s id %d\n", p.PathWithNamespace, p.ID)
	}
	for _, h := range r.Hooks {
		fmt.Fprintf(out, "fixture hook %d on project %d -> %s\n", h.ID, h.ProjectID, h.URL)
	}
	for _, p := range r.Pipelines {
		fmt.Fprintf(out, "fixture pipeline %d in project %d: %d jobs, %d bridges\n", p.ID, p.ProjectID, len(p.Jobs), len(p.Bridges))
	}
	for _, a := range r.Agents {
		fmt.Fprintf(out, "fixture agent %d\n", a.ID)
	}
}
