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
	It("applies as written, all at once, and each sample acts on its own jobs once in GitLab, shown by kubectl", func(ctx SpecContext) {
		w := startWorld(ctx, "samples", worldOptions{
			simWorld:  "demo",
			lifecycle: &devenv.Lifecycle{Pending: 300 * time.Millisecond, Running: time.Second},
		})

		By("creating the Secrets the samples name, as their comments say")
		run(ctx, "create", "secret", "generic", "gitlab-token", "-n", w.ns, "--from-literal=token="+gitlabsim.DemoToken)
		run(ctx, "create", "secret", "generic", "deploy-secrets", "-n", w.ns, "--from-literal=deploy-key=k3y-from-secret")

		// The samples act on distinct jobs (no JobWatch rule matches a JobAction's
		// target), so they can all go at once, as a user would apply them.
		By("applying the whole kustomization at once, the connection pointed at the simulator")
		samples := filepath.Join(root, "config", "samples")
		connection, err := os.ReadFile(filepath.Join(samples, "ci_v1alpha1_gitlabconnection.yaml"))
		Expect(err).NotTo(HaveOccurred())
		url := regexp.MustCompile(`(?m)^(\s+url:) http://127\.0\.0\.1:8929$`)
		Expect(url.MatchString(string(connection))).To(BeTrue(), "the connection sample's url changed; update this test")
		out := apply(ctx, w.ns, url.ReplaceAllString(run(ctx, "kustomize", samples), "$1 "+w.sim.URL))
		for _, obj := range []string{"gitlabconnection.ci.jobops.dev/gitlab",
			"jobaction.ci.jobops.dev/retry-rspec", "jobaction.ci.jobops.dev/play-deploy-prod",
			"jobaction.ci.jobops.dev/cancel-stuck", "jobaction.ci.jobops.dev/erase-old-log",
			"jobwatch.ci.jobops.dev/platform-infra", "jobwatch.ci.jobops.dev/log-retention"} {
			Expect(out).To(ContainSubstring(obj + " created"))
		}

		By("waiting with kubectl wait, as a script would")
		run(ctx, "wait", "--for=condition=Ready", "gitlabconnection/gitlab", "-n", w.ns, "--timeout=60s")
		run(ctx, "wait", "--for=condition=Complete", "-n", w.ns, "--timeout=90s",
			"jobaction/retry-rspec", "jobaction/play-deploy-prod", "jobaction/cancel-stuck", "jobaction/erase-old-log")
		// platform-infra: terraform-plan retried for the network error in its
		// log, terraform-apply played, nightly-backup rerun; log-retention
		// would erase pipeline 1's three jobs, finished three days ago.
		run(ctx, "wait", "--for=jsonpath={.status.totalActions}=3", "-n", w.ns, "--timeout=60s",
			"jobwatch/platform-infra", "jobwatch/log-retention")
		run(ctx, "wait", "--for=condition=Ready", "-n", w.ns, "--timeout=60s", "jobwatch/platform-infra", "jobwatch/log-retention")

		By("reading the outcome in kubectl get's columns")
		table := run(ctx, "get", "jobactions", "-n", w.ns)
		Expect(fields(firstLine(table))).To(Equal([]string{"NAME", "ACTION", "JOB", "RESULT", "JOB", "STATUS", "STATUS", "AGE"}))
		// main/rspec is job 5 (retried: a new job that the lifecycle runs to
		// success), main/deploy-prod 10, feature/docker-build 12 (pending, no
		// runner takes it) and main/build 4.
		Expect(row(table, "retry-rspec")).To(MatchRegexp(`^retry-rspec\s+Retry\s+5\s+\d+\s+success\s+JobSucceeded\s`))
		Expect(row(table, "play-deploy-prod")).To(MatchRegexp(`^play-deploy-prod\s+Play\s+10\s+10\s+success\s+JobSucceeded\s`))
		Expect(row(table, "cancel-stuck")).To(MatchRegexp(`^cancel-stuck\s+Cancel\s+12\s+12\s+cancel(ed|ing)\s+Succeeded\s`))
		Expect(row(table, "erase-old-log")).To(MatchRegexp(`^erase-old-log\s+Erase\s+4\s+4\s+success\s+Succeeded\s`))
		// The RULES column counts the rules (status.ruleCount).
		watches := run(ctx, "get", "jobwatches", "-n", w.ns)
		Expect(fields(firstLine(watches))).To(Equal([]string{"NAME", "PROJECT", "RULES", "LAST", "SYNC", "ACTIONS", "READY", "AGE"}))
		Expect(row(watches, "platform-infra")).To(MatchRegexp(`^platform-infra\s+platform/infra\s+5\s+\S+\s+3\s+True\s`))
		Expect(row(watches, "log-retention")).To(MatchRegexp(`^log-retention\s+platform/app\s+1\s+\S+\s+3\s+True\s`))

		By("reading what each JobWatch did in its status")
		Expect(w.recentActions(ctx, "platform-infra")).To(ConsistOf(
			"network-errors Retry 16 terraform-plan Succeeded",
			"apply-main Play 17 terraform-apply Succeeded",
			"rerun-backup Retry 18 nightly-backup Succeeded"))
		Expect(w.recentActions(ctx, "log-retention")).To(ConsistOf(
			"erase-old-logs Erase 1 build DryRun", "erase-old-logs Erase 2 rspec DryRun", "erase-old-logs Erase 3 lint DryRun"))

		By("checking in GitLab that each job was acted on once, and the dry run called nothing")
		st, err := w.sim.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Actions).To(Equal(map[int64]gitlabsim.ActionCounts{
			5: {Retry: 1}, 10: {Play: 1}, 12: {Cancel: 1}, 4: {Erase: 1},
			16: {Retry: 1}, 17: {Play: 1}, 18: {Retry: 1},
		}))
		Expect(st.PlayVariables[10]).To(ConsistOf(
			gitlabsim.Variable{Key: "DEPLOY_REASON", Value: "reviewed-in-git"},
			gitlabsim.Variable{Key: "DEPLOY_KEY", Value: "k3y-from-secret"}))
		erased, err := w.sim.Admin.Job(ctx, 4)
		Expect(err).NotTo(HaveOccurred())
		Expect(erased.ErasedAt).NotTo(BeNil())
		for _, id := range []int64{1, 2, 3} {
			old, err := w.sim.Admin.Job(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(old.ErasedAt).To(BeNil(), "job %d was erased by a dry run", id)
		}
		Expect(run(ctx, "get", "gitlab", "-n", w.ns)).To(SatisfyAll(
			ContainSubstring("gitlabconnection.ci.jobops.dev/gitlab"),
			ContainSubstring("jobaction.ci.jobops.dev/retry-rspec"),
			ContainSubstring("jobwatch.ci.jobops.dev/platform-infra")), "the gitlab category lists every kind")
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
