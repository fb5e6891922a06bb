package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// The samples are what a new user applies first: they must work as written,
// with only the GitLab URL changed, against the simulator's demo world.
var _ = Describe("config/samples", Serial, func() {
	It("applies as written, and each JobAction completes once in GitLab, shown by kubectl", func(ctx SpecContext) {
		w := startWorld(ctx, "samples", worldOptions{
			simWorld:  "demo",
			lifecycle: &devenv.Lifecycle{Pending: 300 * time.Millisecond, Running: time.Second},
		})

		By("creating the Secrets the samples name, as their comments say")
		run(ctx, "create", "secret", "generic", "gitlab-token", "-n", w.ns, "--from-literal=token="+gitlabsim.DemoToken)
		run(ctx, "create", "secret", "generic", "deploy-secrets", "-n", w.ns, "--from-literal=deploy-key=k3y-from-secret")

		// The sample JobWatch platform-app retries main/rspec and
		// main/integration too, the jobs of retry-rspec and cancel-stuck: with
		// both at once, who acts first is a race. So the connection and the
		// JobActions go first, and the whole kustomization once they are done.
		By("applying the connection sample, pointed at the simulator, and the JobAction samples")
		samples := filepath.Join(root, "config", "samples")
		connection, err := os.ReadFile(filepath.Join(samples, "ci_v1alpha1_gitlabconnection.yaml"))
		Expect(err).NotTo(HaveOccurred())
		url := regexp.MustCompile(`(?m)^(\s+url:) http://127\.0\.0\.1:8929$`)
		Expect(url.MatchString(string(connection))).To(BeTrue(), "the connection sample's url changed; update this test")
		pointed := func(manifest string) string { return url.ReplaceAllString(manifest, "$1 "+w.sim.URL) }
		Expect(apply(ctx, w.ns, pointed(string(connection)))).To(ContainSubstring("gitlabconnection.ci.jobops.dev/gitlab created"))
		out := run(ctx, "apply", "-n", w.ns, "-f", filepath.Join(samples, "ci_v1alpha1_jobaction.yaml"))
		for _, name := range []string{"retry-rspec", "play-deploy-prod", "cancel-stuck", "erase-old-log"} {
			Expect(out).To(ContainSubstring("jobaction.ci.jobops.dev/" + name + " created"))
		}

		By("waiting with kubectl wait, as a script would")
		run(ctx, "wait", "--for=condition=Ready", "gitlabconnection/gitlab", "-n", w.ns, "--timeout=60s")
		run(ctx, "wait", "--for=condition=Complete", "-n", w.ns, "--timeout=90s",
			"jobaction/retry-rspec", "jobaction/play-deploy-prod", "jobaction/cancel-stuck", "jobaction/erase-old-log")

		By("reading the outcome in kubectl get's columns")
		table := run(ctx, "get", "jobactions", "-n", w.ns)
		Expect(fields(firstLine(table))).To(Equal([]string{"NAME", "ACTION", "JOB", "RESULT", "JOB", "STATUS", "STATUS", "AGE"}))
		// main/rspec is job 5 (retried: a new job that the lifecycle runs to
		// success), main/deploy-prod 10, main/build 4, and main/integration 6,
		// which is failed in the demo world: GitLab accepts a cancel of a
		// finished job and leaves it as it was.
		Expect(row(table, "retry-rspec")).To(MatchRegexp(`^retry-rspec\s+Retry\s+5\s+\d+\s+success\s+JobSucceeded\s`))
		Expect(row(table, "play-deploy-prod")).To(MatchRegexp(`^play-deploy-prod\s+Play\s+10\s+10\s+success\s+JobSucceeded\s`))
		Expect(row(table, "cancel-stuck")).To(MatchRegexp(`^cancel-stuck\s+Cancel\s+6\s+6\s+failed\s+Succeeded\s`))
		Expect(row(table, "erase-old-log")).To(MatchRegexp(`^erase-old-log\s+Erase\s+4\s+4\s+success\s+Succeeded\s`))
		By("checking in GitLab that each job was acted on once, with the play's variables")
		st, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Actions).To(Equal(map[int64]gitlabsim.ActionCounts{
			5: {Retry: 1}, 10: {Play: 1}, 6: {Cancel: 1}, 4: {Erase: 1},
		}))
		Expect(st.PlayVariables[10]).To(ConsistOf(
			gitlabsim.Variable{Key: "DEPLOY_REASON", Value: "reviewed-in-git"},
			gitlabsim.Variable{Key: "DEPLOY_KEY", Value: "k3y-from-secret"}))
		erased, err := w.sim.Admin.Job(ctx, 4)
		Expect(err).NotTo(HaveOccurred())
		Expect(erased.ErasedAt).NotTo(BeNil())

		By("applying the whole kustomization, which adds the JobWatches")
		out = apply(ctx, w.ns, pointed(run(ctx, "kustomize", samples)))
		Expect(out).To(SatisfyAll(
			ContainSubstring("gitlabconnection.ci.jobops.dev/gitlab unchanged"),
			ContainSubstring("jobaction.ci.jobops.dev/retry-rspec unchanged"),
			ContainSubstring("jobwatch.ci.jobops.dev/platform-app created"),
			ContainSubstring("jobwatch.ci.jobops.dev/log-retention created")))
		run(ctx, "wait", "--for=condition=Ready", "-n", w.ns, "--timeout=60s", "jobwatch/platform-app", "jobwatch/log-retention")
		Expect(run(ctx, "get", "gitlab", "-n", w.ns)).To(SatisfyAll(
			ContainSubstring("gitlabconnection.ci.jobops.dev/gitlab"),
			ContainSubstring("jobaction.ci.jobops.dev/retry-rspec"),
			ContainSubstring("jobwatch.ci.jobops.dev/platform-app")), "the gitlab category lists every kind")
	}, NodeTimeout(3*time.Minute))

	It("documents every field in kubectl explain", func(ctx SpecContext) {
		Expect(run(ctx, "explain", "jobaction.spec")).To(SatisfyAll(
			ContainSubstring("connectionRef"), ContainSubstring("names the GitLabConnection"),
			ContainSubstring("action"), ContainSubstring("Retry a finished job"),
			ContainSubstring("requester"), ContainSubstring("CI_JOB_TOKEN"),
			ContainSubstring("followResult"), ContainSubstring("ttlSecondsAfterFinished")))
		Expect(run(ctx, "explain", "gitlabconnection.spec.tokenSecretRef")).To(ContainSubstring("holds the token"))
		Expect(run(ctx, "explain", "jobaction.status.conditions")).To(ContainSubstring("kubectl wait --for=condition=Complete"))
	}, NodeTimeout(time.Minute))
})

func firstLine(s string) string { line, _, _ := strings.Cut(s, "\n"); return line }

func fields(s string) []string { return strings.Fields(s) }

// row returns the line of a kubectl table that starts with name.
func row(table, name string) string {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}
