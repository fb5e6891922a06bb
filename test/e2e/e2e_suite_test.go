// Package e2e runs the operator as a user would: kube-apiserver and etcd, the
// GitLab simulator (bin/gitlab-sim) and the manager (bin/manager) as separate
// processes, driven with kubectl. The binaries are built by the suite from
// this tree, so the tests always run the code they sit next to.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
)

var (
	root      string               // the repository
	bins      devenv.Binaries      // manager, gitlab-sim and demo, built from this tree
	cp        *devenv.ControlPlane // shared by the specs; each spec has its own namespace
	kubectl   devenv.Kubectl
	artifacts string // logs of every process, kept when a spec fails
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "End-to-end suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	if testing.Short() {
		Skip("the end-to-end suite builds binaries and starts processes: not with -short")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	Expect(assets).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run `make test` or `make test-e2e`, "+
		"or export KUBEBUILDER_ASSETS=$(hack/envtest-binaries.sh)")
	Expect(devenv.CheckAssets(assets)).To(Succeed())
	var err error
	root, err = devenv.RepoRoot(".")
	Expect(err).NotTo(HaveOccurred())
	artifacts, err = os.MkdirTemp("", "jobops-e2e-")
	Expect(err).NotTo(HaveOccurred())
	// Registered first, so it runs last, once every process has stopped.
	DeferCleanup(removeArtifacts)

	// The build (tens of seconds cold) and the control plane (seconds) do not
	// depend on each other: overlap them.
	type built struct {
		b   devenv.Binaries
		err error
	}
	buildDone := make(chan built, 1)
	buildStart := time.Now()
	go func() {
		b, err := devenv.Build(ctx, root, filepath.Join(artifacts, "bin"), true)
		buildDone <- built{b, err}
	}()
	cp, err = devenv.StartControlPlane(devenv.ControlPlaneOptions{
		AssetsDir: assets, CRDDir: filepath.Join(root, "config", "crd", "bases"),
		KubeconfigPath: filepath.Join(artifacts, "kubeconfig"), LogPath: filepath.Join(artifacts, "control-plane.log"),
	})
	if err != nil {
		<-buildDone
	}
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cp.Stop)
	kubectl = cp.Kubectl
	res := <-buildDone
	Expect(res.err).NotTo(HaveOccurred())
	bins = res.b
	GinkgoWriter.Printf("built the binaries and started the control plane in %s; logs in %s\n",
		time.Since(buildStart).Round(100*time.Millisecond), artifacts)
}, NodeTimeout(5*time.Minute))

var suiteFailed bool

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() {
		suiteFailed = true
	}
})

// removeArtifacts deletes the logs, unless a spec failed: then they are
// what explains it.
func removeArtifacts() error {
	if suiteFailed {
		GinkgoWriter.Printf("logs kept in %s\n", artifacts)
		return nil
	}
	return os.RemoveAll(artifacts)
}

// run is kubectl that must succeed; it returns stdout.
func run(ctx context.Context, args ...string) string {
	GinkgoHelper()
	out, err := kubectl.Run(ctx, args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// apply is `kubectl apply -n ns -f -` of a manifest.
func apply(ctx context.Context, ns, manifest string) string {
	GinkgoHelper()
	out, err := kubectl.RunInput(ctx, manifest, "apply", "-n", ns, "-f", "-")
	Expect(err).NotTo(HaveOccurred())
	return out
}
