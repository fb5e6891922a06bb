package e2e

import (
	"context"
	"encoding/json"
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
	manager *devenv.Manager
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
	if c := o.connection; c != nil {
		w.connect(ctx, c.token, c.extra)
	}
	w.manager, err = devenv.StartManager(ctx, devenv.ManagerOptions{
		Binary: bins.Manager, Kubeconfig: cp.Kubeconfig, LogPath: filepath.Join(w.dir, "manager.log"),
	})
	DeferCleanup(func() error { return w.manager.Stop(15 * time.Second) })
	Expect(err).NotTo(HaveOccurred())
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
	for _, name := range []string{"manager.log", "gitlab-sim.log"} {
		raw, err := os.ReadFile(filepath.Join(w.dir, name))
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

// jobAction is the part of a JobAction the specs read.
type jobAction struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Action  string `json:"action"`
		JobName string `json:"jobName"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
		TargetJob *jobSummary `json:"targetJob"`
		ResultJob *jobSummary `json:"resultJob"`
	} `json:"status"`
}

type jobSummary struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// condition returns "Type/Reason" of the True condition of that type, or "".
func (ja jobAction) condition(typ string) string {
	for _, c := range ja.Status.Conditions {
		if c.Type == typ && c.Status == "True" {
			return c.Type + "/" + c.Reason
		}
	}
	return ""
}

// jobActions lists the namespace's JobActions by name.
func (w *world) jobActions(ctx context.Context) map[string]jobAction {
	GinkgoHelper()
	var list struct {
		Items []jobAction `json:"items"`
	}
	Expect(json.Unmarshal([]byte(run(ctx, "get", "jobactions", "-n", w.ns, "-o", "json")), &list)).To(Succeed())
	out := make(map[string]jobAction, len(list.Items))
	for _, ja := range list.Items {
		out[ja.Metadata.Name] = ja
	}
	return out
}

// jobWatch is the part of a JobWatch the specs read.
type jobWatch struct {
	Status struct {
		Conditions []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
		TotalActions   int64 `json:"totalActions"`
		PendingActions []struct {
			Rule  string `json:"rule"`
			JobID int64  `json:"jobID"`
		} `json:"pendingActions"`
		RecentActions []actionRecord `json:"recentActions"`
		Rules         []struct {
			Name          string `json:"name"`
			Matched       int64  `json:"matched"`
			Acted         int64  `json:"acted"`
			SkippedBudget int64  `json:"skippedBudget"`
			SkippedGuard  int64  `json:"skippedGuard"`
			Refused       int64  `json:"refused"`
		} `json:"rules"`
	} `json:"status"`
}

type actionRecord struct {
	Rule        string `json:"rule"`
	Action      string `json:"action"`
	JobID       int64  `json:"jobID"`
	JobName     string `json:"jobName"`
	ResultJobID int64  `json:"resultJobID"`
	Outcome     string `json:"outcome"`
	Message     string `json:"message"`
}

// condition returns "Type/Reason" of the True condition of that type, or "".
func (jw jobWatch) condition(typ string) string {
	for _, c := range jw.Status.Conditions {
		if c.Type == typ && c.Status == "True" {
			return c.Type + "/" + c.Reason
		}
	}
	return ""
}

// jobWatch reads one JobWatch of the namespace.
func (w *world) jobWatch(ctx context.Context, name string) jobWatch {
	GinkgoHelper()
	var jw jobWatch
	Expect(json.Unmarshal([]byte(run(ctx, "get", "jobwatch", name, "-n", w.ns, "-o", "json")), &jw)).To(Succeed())
	return jw
}

// recentActions lists a JobWatch's recent actions as "rule action jobID
// jobName outcome", newest first.
func (w *world) recentActions(ctx context.Context, name string) []string {
	GinkgoHelper()
	var out []string
	for _, a := range w.jobWatch(ctx, name).Status.RecentActions {
		out = append(out, fmt.Sprintf("%s %s %d %s %s", a.Rule, a.Action, a.JobID, a.JobName, a.Outcome))
	}
	return out
}
