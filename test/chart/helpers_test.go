// Package chart tests the Helm chart in charts/gitlab-job-operator with the
// Helm and the kube-apiserver a user would have: bin/helm (make helm) lints,
// renders, installs and upgrades it, and a real API server (envtest) judges
// what it renders.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/testenv"
)

// root is the repository; chartDir the chart in it.
var (
	root     = testenv.RepoRoot()
	chartDir = filepath.Join(root, "charts", "gitlab-job-operator")
)

// tool returns the path of a tool the Makefile builds into bin/.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	path, err := testenv.Tool(env, name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// helm runs bin/helm and returns its stdout; stderr is in the error.
func helm(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool(t, "HELM", "helm"), args...)
	cmd.Dir = root
	// A test must not read or write the user's Helm configuration.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.New(strings.TrimSpace("helm " + strings.Join(args, " ") + ": " + err.Error() + ": " + stderr.String()))
	}
	return stdout.String(), nil
}

// render is `helm template` of the chart with the values files given, as
// objects.
func render(t *testing.T, valuesFiles ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "jobops", chartDir, "--namespace", "jobops-system"}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	out, err := helm(t, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, out)
}

// decodeAll splits a YAML stream into objects, skipping empty documents.
// Numbers are decoded as the API machinery does (integers as int64).
func decodeAll(t *testing.T, stream string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("reading the rendered chart: %v", err)
		}
		raw, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("decoding %s: %v", doc, err)
		}
		if s := strings.TrimSpace(string(raw)); s == "null" || s == "{}" {
			continue
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(raw); err != nil {
			t.Fatalf("decoding %s: %v", doc, err)
		}
		objs = append(objs, &u)
	}
}

// readObject reads one object from a YAML file.
func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, string(raw))
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects, want 1", path, len(objs))
	}
	return objs[0]
}

// find returns the rendered object of that kind whose name ends with suffix.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, suffix string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), suffix) {
			return o
		}
	}
	t.Fatalf("the chart renders no %s named *%s", kind, suffix)
	return nil
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// cluster is a kube-apiserver and etcd with only the Prometheus Operator's
// CRDs installed: the chart brings its own.
type cluster struct {
	cp       *devenv.ControlPlane
	client   client.Client
	warnings *warningLog
}

var (
	sharedOnce    sync.Once
	sharedCluster *cluster
	sharedErr     error
	stopShared    func()
)

// apiServer returns the control plane the tests of this package share,
// started on first use.
func apiServer(t *testing.T) *cluster {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jobops-chart-")
		if err != nil {
			sharedErr = err
			return
		}
		sharedCluster, sharedErr = startCluster(dir)
		stopShared = func() {
			if sharedCluster != nil {
				_ = sharedCluster.cp.Stop()
			}
			_ = os.RemoveAll(dir)
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedCluster
}

// newCluster starts a control plane of the test's own, for tests that install
// the chart for real (its CRDs then belong to that release).
func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	c, err := startCluster(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cp.Stop() })
	return c
}

func startCluster(dir string) (*cluster, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, or export KUBEBUILDER_ASSETS=$(hack/envtest-binaries.sh)")
	}
	cp, err := devenv.StartControlPlane(devenv.ControlPlaneOptions{
		AssetsDir: assets, CRDDir: filepath.Join(root, "test", "chart", "testdata", "crds"),
		KubeconfigPath: filepath.Join(dir, "kubeconfig"), LogPath: filepath.Join(dir, "control-plane.log"),
	})
	if err != nil {
		return nil, err
	}
	warnings := &warningLog{}
	cfg := *cp.Config
	cfg.WarningHandler = warnings
	c, err := client.New(&cfg, client.Options{})
	if err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return &cluster{cp: cp, client: c, warnings: warnings}, nil
}

// warningLog keeps the API server's warnings (deprecated APIs, Pod Security
// violations of workloads in a namespace that warns).
type warningLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningLog) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

// take returns the warnings so far and forgets them.
func (w *warningLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stopShared != nil {
		stopShared()
	}
	os.Exit(code)
}
