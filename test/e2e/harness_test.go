package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
)

// world is what one spec runs against: a namespace of its own on the shared
// control plane, its own simulator and its own manager. Specs are Serial:
// a manager watches every namespace, so two at once would both act.
type world struct {
	ns      string
	dir     string // this spec's logs
	sim     *devenv.Simulator
	manager *devenv.Manager // the first of managers
	// managers run side by side (shards), in worldOptions.managers' order.
	managers []*devenv.Manager
}

// worldOptions say what a spec needs.
type worldOptions struct {
	// simWorld is "demo" or "empty".
	simWorld string
	// lifecycle turns the simulator's runner on.
	lifecycle *devenv.Lifecycle
	// connection, when set, creates Secret gitlab-token and GitLabConnection
	// "gitlab" with this token and these extra spec fields (YAML lines,
	// indented by two).
	connection *connectionOptions
	// managers are the manager processes to run (default: one, "manager").
	managers []managerSpec
}

// managerSpec is one manager process: its name (for its log) and flags.
type managerSpec struct {
	name string
	args []string
}

type connectionOptions struct {
	token string
	extra string
}

// startWorld starts a simulator and a manager for the spec, and stops them
// (after deleting the spec's objects) when it ends. On failure the tail of
// each log goes to the spec's report.
func startWorld(ctx context.Context, name string, o worldOptions) *world {
	GinkgoHelper()
	w := &world{ns: "e2e-" + name, dir: filepath.Join(artifacts, name)}
	var err error
	w.sim, err = devenv.StartSimulator(ctx, devenv.SimulatorOptions{
		Binary: bins.GitLabSim, World: o.simWorld, Lifecycle: o.lifecycle, LogPath: filepath.Join(w.dir, "gitlab-sim.log"),
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() error { return w.sim.Stop(10 * time.Second) })

	run(ctx, "create", "namespace", w.ns)
	managers := o.managers
	if len(managers) == 0 {
		managers = []managerSpec{{name: "manager"}}
	}
	for _, spec := range managers {
		m, err := devenv.StartManager(ctx, devenv.ManagerOptions{
			Binary: bins.Manager, Kubeconfig: cp.Kubeconfig, LogPath: filepath.Join(w.dir, spec.name+".log"), Args: spec.args,
		})
		DeferCleanup(func() error { return m.Stop(15 * time.Second) })
		Expect(err).NotTo(HaveOccurred())
		w.managers = append(w.managers, m)
	}
	w.manager = w.managers[0]
	if c := o.connection; c != nil {
		w.connect(ctx, c.token, c.extra) // waits for Ready: after the managers start
	}
	// Runs before the manager stops: envtest has no namespace controller, so
	// deleting the namespace would not delete its objects, and the next
	// spec's manager would find them.
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			w.reportLogs()
			w.reportObjects(ctx)
		}
		_, err := kubectl.Run(ctx, "delete", "jobactions,jobwatches,gitlabconnections", "--all", "-n", w.ns, "--wait=false")
		Expect(err).NotTo(HaveOccurred())
	})
	return w
}

// connect creates the token Secret and the GitLabConnection "gitlab", and
// waits until it is Ready.
func (w *world) connect(ctx context.Context, token, extra string) {
	GinkgoHelper()
	run(ctx, "create", "secret", "generic", "gitlab-token", "-n", w.ns, "--from-literal=token="+token)
	apply(ctx, w.ns, fmt.Sprintf(`apiVersion: ci.jobops.dev/v1alpha1
kind: GitLabConnection
metadata:
  name: gitlab
spec:
  url: %s
  tokenSecretRef: {name: gitlab-token}
%s`, w.sim.URL, extra))
	run(ctx, "wait", "--for=condition=Ready", "gitlabconnection/gitlab", "-n", w.ns, "--timeout=60s")
}

// reportLogs attaches the end of the manager's and the simulator's logs to
// the spec's report.
func (w *world) reportLogs() {
	logs, _ := filepath.Glob(filepath.Join(w.dir, "*.log"))
	for _, path := range logs {
		name := filepath.Base(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		AddReportEntry(name, strings.Join(lines[max(0, len(lines)-60):], "\n"))
	}
}

// reportObjects attaches the namespace's JobActions and JobWatches, status
// and all, to the spec's report, and keeps them next to the logs.
func (w *world) reportObjects(ctx context.Context) {
	out, err := kubectl.Run(ctx, "get", "jobactions,jobwatches", "-n", w.ns, "-o", "yaml")
	if err != nil {
		out = err.Error()
	}
	_ = os.WriteFile(filepath.Join(w.dir, "objects.yaml"), []byte(out), 0o644)
	AddReportEntry("objects", out)
}
