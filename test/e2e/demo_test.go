package e2e

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// `make demo` is how people meet the operator, and CI checks it this way:
// the demo program as a process, with its own control plane, simulator and
// manager (the suite's binaries, so it does not build them again).
var _ = Describe("make demo", Serial, func() {
	It("with DEMO_EXIT=1 exits 0 once every demo object has reached its expected outcome, leaving nothing running", func(ctx SpecContext) {
		out := filepath.Join(artifacts, "demo-exit")
		p := startDemo(out, "DEMO_EXIT=1")
		Eventually(p.Done()).WithTimeout(4*time.Minute).Should(BeClosed(), "the demo did not exit; see %s", p.LogPath())
		log, err := p.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Wait()).To(Succeed(), "the demo failed:\n%s", log)
		Expect(log).To(ContainSubstring("every object reached its expected outcome"))
		Expect(log).NotTo(ContainSubstring("log.SetLogger(...) was never called"), "controller-runtime warned, with a stack trace, that the demo set no logger")
		Expect(log).To(MatchRegexp(`ok\s+jobaction/retry-running-long-test\s+want Failed/NotRetryable`))
		Expect(log).To(MatchRegexp(`ok\s+jobwatch/ci-policy\s+want totalActions>=6`))
		Expect(log).To(MatchRegexp(`ok\s+jobwatch/log-retention\s+want totalActions>=2`))
		expectAllStopped(log)
		Expect(filepath.Join(out, "env")).NotTo(BeAnExistingFile(), "env describes a running demo only")
	}, NodeTimeout(5*time.Minute))

	It("runs until Ctrl-C, with bin/demo/env and kubeconfig usable meanwhile, then stops everything", func(ctx SpecContext) {
		out := filepath.Join(artifacts, "demo-interactive")
		p := startDemo(out)
		Eventually(func() (string, error) { return p.Output() }).WithTimeout(4*time.Minute).
			Should(ContainSubstring("Press Ctrl-C to stop everything."), "see %s", p.LogPath())

		By("reaching the cluster and the simulator through bin/demo/env")
		env := readEnv(filepath.Join(out, "env"))
		Expect(env).To(HaveKey("GITLAB_URL"))
		Expect(env).To(HaveKeyWithValue("KUBECONFIG", filepath.Join(out, "kubeconfig")))
		Expect(env).To(HaveKeyWithValue("GITLAB_TOKEN", "glpat-demo-operator"))
		demoKubectl := devenv.Kubectl{Path: kubectl.Path, Kubeconfig: env["KUBECONFIG"]}
		table, err := demoKubectl.Run(ctx, "get", "jobactions", "-n", "jobops-demo")
		Expect(err).NotTo(HaveOccurred())
		Expect(row(table, "play-deploy-prod")).To(MatchRegexp(`\s+success\s+JobSucceeded\s`))
		stats, err := devenv.NewSimClient(env["GITLAB_URL"], env["GITLAB_SIM_ADMIN_TOKEN"]).Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(stats.Actions).NotTo(BeEmpty())

		By("seeing the JobWatch act on its own jobs only, each attempt once, and the dry run call nothing")
		// The JobActions' targets (internal/gitlabsim/demo.go): old/build 1,
		// old/lint 3, main/flaky-unit 8, main/deploy-prod 10,
		// feature/docker-build 12, feature/package 14; each acted on once,
		// so ci-policy, whose rules name other jobs, raced none of them. Its
		// jobs are 19-23 and the retries of unit-shard-1 (the first failed
		// again), whose ids depend on timing.
		Expect(stats.Actions).To(SatisfyAll(
			HaveKeyWithValue(BeEquivalentTo(1), gitlabsim.ActionCounts{Erase: 1}),
			HaveKeyWithValue(BeEquivalentTo(3), gitlabsim.ActionCounts{Retry: 1}),
			HaveKeyWithValue(BeEquivalentTo(8), gitlabsim.ActionCounts{Retry: 1}),
			HaveKeyWithValue(BeEquivalentTo(10), gitlabsim.ActionCounts{Play: 1}),
			HaveKeyWithValue(BeEquivalentTo(12), gitlabsim.ActionCounts{Cancel: 1}),
			HaveKeyWithValue(BeEquivalentTo(14), gitlabsim.ActionCounts{Cancel: 1}),
			HaveKeyWithValue(BeEquivalentTo(19), gitlabsim.ActionCounts{Retry: 1}),
			HaveKeyWithValue(BeEquivalentTo(20), gitlabsim.ActionCounts{Retry: 1}),
			HaveKeyWithValue(BeEquivalentTo(21), gitlabsim.ActionCounts{Retry: 1}),
			HaveKeyWithValue(BeEquivalentTo(22), gitlabsim.ActionCounts{Play: 1}),
			HaveKeyWithValue(BeEquivalentTo(23), gitlabsim.ActionCounts{Cancel: 1})))
		for id, counts := range stats.Actions {
			Expect(counts.Retry+counts.Play+counts.Cancel+counts.Erase).To(BeEquivalentTo(1), "job %d: %+v", id, counts)
			Expect(id == 1 || counts.Erase == 0).To(BeTrue(), "job %d erased: the dry run called GitLab", id)
		}
		watches, err := demoKubectl.Run(ctx, "get", "jobwatches", "-n", "jobops-demo")
		Expect(err).NotTo(HaveOccurred())
		Expect(row(watches, "ci-policy")).To(MatchRegexp(`^ci-policy\s+platform/app\s+4\s+\S+\s+([6-9]|\d\d+)\s+True\s`))
		Expect(row(watches, "log-retention")).To(MatchRegexp(`^log-retention\s+platform/app\s+1\s+\S+\s+[23]\s+True\s`))

		By("pressing Ctrl-C")
		Expect(syscall.Kill(p.Pid(), syscall.SIGINT)).To(Succeed())
		Eventually(p.Done()).WithTimeout(time.Minute).Should(BeClosed())
		Expect(p.Wait()).To(Succeed())
		log, err := p.Output()
		Expect(err).NotTo(HaveOccurred())
		expectAllStopped(log)
		Expect(filepath.Join(out, "kubeconfig")).NotTo(BeAnExistingFile())
	}, NodeTimeout(6*time.Minute))
})

// startDemo runs the demo program with the suite's binaries, writing into out.
func startDemo(out string, env ...string) *devenv.Process {
	GinkgoHelper()
	p, err := devenv.StartProcess(devenv.ProcessSpec{
		Name: "demo", Path: bins.Demo, Dir: root, Env: env, LogPath: filepath.Join(out, "demo.log"),
		Args: []string{"-out", out, "-manager", bins.Manager, "-gitlab-sim", bins.GitLabSim},
	})
	Expect(err).NotTo(HaveOccurred())
	// If the spec fails before the demo exits, stop it the way Ctrl-C would.
	DeferCleanup(func() error { return p.Stop(time.Minute) })
	return p
}

var (
	pidLine       = regexp.MustCompile(`(gitlab-sim|manager) \(pid (\d+)\)`)
	apiServerLine = regexp.MustCompile(`kube-apiserver ready at (\S+)`)
)

// expectAllStopped checks that the processes the demo reported starting are
// gone: the simulator and the manager by pid, the API server by its port.
func expectAllStopped(log string) {
	GinkgoHelper()
	pids := pidLine.FindAllStringSubmatch(log, -1)
	Expect(pids).To(HaveLen(2), "the demo names the pids of gitlab-sim and the manager")
	for _, m := range pids {
		pid, err := strconv.Atoi(m[2])
		Expect(err).NotTo(HaveOccurred())
		Expect(errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)).To(BeTrue(), "%s (pid %d) is still running", m[1], pid)
	}
	m := apiServerLine.FindStringSubmatch(log)
	Expect(m).NotTo(BeNil(), "the demo names the API server's URL")
	u, err := url.Parse(m[1])
	Expect(err).NotTo(HaveOccurred())
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err == nil {
		conn.Close()
	}
	Expect(err).To(HaveOccurred(), "kube-apiserver still listens on %s", u.Host)
}

// readEnv parses bin/demo/env's NAME=value lines.
func readEnv(path string) map[string]string {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, ok := strings.Cut(l, "=")
		Expect(ok).To(BeTrue(), "line %q of %s", l, path)
		env[k] = v
	}
	return env
}
