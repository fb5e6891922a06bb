package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// kubectl jobops as a person uses it: kubectl finds kubectl-jobops on PATH,
// the job is the URL copied from GitLab (or project#id), and the outcome is
// read in the plugin's own output and in GitLab.
var _ = Describe("kubectl jobops", Serial, func() {
	It("retries, plays and dry-runs from job URLs, shows one view, and says what is wrong", func(ctx SpecContext) {
		By("building kubectl-jobops into a directory on PATH")
		pluginDir := filepath.Join(artifacts, "plugin")
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(pluginDir, "kubectl-jobops"), "./cmd/kubectl-jobops")
		build.Dir = root
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		w := startWorld(ctx, "plugin", worldOptions{
			simWorld:  "demo",
			lifecycle: &devenv.Lifecycle{Pending: 300 * time.Millisecond, Running: time.Second},
		})
		w.connect(ctx, gitlabsim.DemoToken, "")
		jobops := func(args ...string) (string, string, error) {
			return kubectlWithPlugin(ctx, pluginDir, append([]string{"jobops"}, args...)...)
		}
		var stdout string
		plugins, stderr, err := kubectlWithPlugin(ctx, pluginDir, "plugin", "list")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(plugins).To(ContainSubstring(filepath.Join(pluginDir, "kubectl-jobops")))

		By("retrying job 5 (main/rspec, failed) from its web URL, and waiting for the result")
		stdout, stderr, err = jobops("retry", w.sim.URL+"/platform/app/-/jobs/5", "-n", w.ns, "--wait", "--timeout", "90s")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(stdout).To(MatchRegexp(`jobaction.ci.jobops.dev/retry-app-5-[a-z0-9]{5} created\n`))
		Expect(stdout).To(MatchRegexp(`jobaction retry-app-5-[a-z0-9]{5}: Complete \(JobSucceeded\): `))
		Expect(stdout).To(MatchRegexp(`result: job \d+ success ` + w.sim.URL + `/platform/app/-/jobs/\d+\n`))

		By("printing a Play of job 10 (deploy-prod, manual) as a manifest for Git, and applying it")
		run(ctx, "create", "secret", "generic", "deploy-secrets", "-n", w.ns, "--from-literal=deploy-key=k3y")
		manifest, stderr, err := jobops("play", "platform/app#10", "-n", w.ns, "--dry-run=client", "-o", "yaml",
			"--var", "DEPLOY_REASON=reviewed-in-git", "--var-from-secret", "DEPLOY_KEY=deploy-secrets/deploy-key")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(manifest).To(SatisfyAll(ContainSubstring("kind: JobAction"), ContainSubstring("action: Play"),
			ContainSubstring("jobID: 10"), ContainSubstring("project: platform/app"), ContainSubstring("name: deploy-secrets"),
			Not(ContainSubstring("status:")), Not(ContainSubstring("creationTimestamp"))))
		Expect(w.jobActions(ctx)).To(HaveLen(1), "a client dry run created the JobAction")
		Expect(apply(ctx, w.ns, manifest)).To(MatchRegexp(`jobaction.ci.jobops.dev/play-app-10-[a-z0-9]{5} created`))
		run(ctx, "wait", "--for=condition=Complete", "jobactions", "--all", "-n", w.ns, "--timeout=90s")

		By("checking a Cancel with the API server, without doing it")
		stdout, stderr, err = jobops("cancel", "platform/app#12", "-n", w.ns, "--dry-run=server")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(stdout).To(MatchRegexp(`jobaction.ci.jobops.dev/cancel-app-12-[a-z0-9]{5} created \(server dry run\)`))

		By("showing connections, JobActions and a JobWatch in one view")
		apply(ctx, w.ns, `apiVersion: ci.jobops.dev/v1alpha1
kind: JobWatch
metadata: {name: infra-dry-run}
spec:
  connectionRef: {name: gitlab}
  project: platform/infra
  dryRun: true
  rules:
  - {name: failed, action: Retry}
`)
		run(ctx, "wait", "--for=condition=Ready", "jobwatch/infra-dry-run", "-n", w.ns, "--timeout=60s")
		stdout, stderr, err = jobops("get", "-n", w.ns)
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(stdout).To(MatchRegexp(`(?m)^gitlab\s+` + w.sim.URL + `\s+demo\s+True\s+Succeeded\s`))
		Expect(stdout).To(MatchRegexp(`(?m)^retry-app-5-\S+\s+Retry\s+platform/app\s+5\s+\d+\s+success\s+Complete/JobSucceeded\s`))
		Expect(stdout).To(MatchRegexp(`(?m)^play-app-10-\S+\s+Play\s+platform/app\s+10\s+10\s+success\s+Complete/JobSucceeded\s`))
		Expect(stdout).To(MatchRegexp(`(?m)^infra-dry-run\s+platform/infra\s+\S+ ago\s+in \S+\s+\d+\s+.*\s+True\s+Succeeded`))

		By("explaining what is wrong")
		_, stderr, err = jobops("retry", "https://gitlab.other.example/platform/app/-/jobs/5", "-n", w.ns)
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(SatisfyAll(ContainSubstring("no GitLabConnection here is for gitlab.other.example"),
			ContainSubstring("gitlab ("+w.sim.URL+")")))
		_, stderr, err = jobops("retry", w.sim.URL+"/platform/app/-/pipelines/3", "-n", w.ns)
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("it is a pipeline's URL"))
		_, stderr, err = jobops("retry", "platform/app#5", "-n", w.ns, "--connection", "gitlab", "--as", "someone")
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(SatisfyAll(ContainSubstring("you may not create JobActions in namespace "+w.ns), ContainSubstring("editor role")))

		By("checking in GitLab that job 5 was retried once, job 10 played once with its variables, and job 12 left alone")
		st, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Actions).To(Equal(map[int64]gitlabsim.ActionCounts{5: {Retry: 1}, 10: {Play: 1}}))
		Expect(st.PlayVariables[10]).To(ConsistOf(
			gitlabsim.Variable{Key: "DEPLOY_REASON", Value: "reviewed-in-git"}, gitlabsim.Variable{Key: "DEPLOY_KEY", Value: "k3y"}))
	}, NodeTimeout(4*time.Minute))
})

// kubectlWithPlugin runs the envtest kubectl with the plugin's directory first
// on PATH and the cluster in KUBECONFIG: kubectl finds a plugin only by its
// name coming before any flag, so the kubeconfig cannot be a flag here.
func kubectlWithPlugin(ctx context.Context, pluginDir string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl.Path, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig,
		"PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), strings.TrimSpace(stderr.String()), err
}
