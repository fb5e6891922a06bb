package chart

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var allOn = filepath.Join(root, "test", "chart", "testdata", "all-on.yaml")

func TestHelmLintPassesWithDefaultsAndWithEveryOptionOn(t *testing.T) {
	for _, values := range [][]string{nil, {"--values", allOn}} {
		out, err := helm(t, nil, append([]string{"lint", "--strict", chartDir}, values...)...)
		if err != nil {
			t.Errorf("helm lint %v: %v\n%s", values, err, out)
		}
	}
}

// The values schema refuses what would otherwise render a broken manager.
func TestValuesSchemaRefusesTyposAndBadValues(t *testing.T) {
	for _, set := range []string{"replica=2", "manager.minRetryDelay=soon", "shards[0].name=Shard_1", "webhook.service.type=Ingress"} {
		if _, err := helm(t, nil, "template", "jobops", chartDir, "--set", set); err == nil {
			t.Errorf("helm template --set %s rendered; the schema should refuse it", set)
		}
	}
	if _, err := helm(t, nil, "template", "jobops", chartDir, "--set", "shards[0].name=main"); err == nil ||
		!strings.Contains(err.Error(), `"main" names the main manager`) {
		t.Errorf("a shard named main: %v; want the chart to refuse it", err)
	}
}

// The API server judges every object the chart renders, with its real
// schemas: built-in kinds, the chart's own CRDs, and the Prometheus
// Operator's kinds (minimal CRDs in testdata). An unknown field, a wrong type
// or a deprecated API comes back as an error or a warning, and fails.
func TestRenderedChartPassesServerSideDryRun(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	ensureRestrictedNamespace(t, c, "jobops-system")
	for name, values := range map[string][]string{"defaults": nil, "every option on": {allOn}} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, values...)
			for _, o := range objs {
				if err := c.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
					client.DryRunAll, client.FieldOwner("chart-test"), client.ForceOwnership); err != nil {
					t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
			if w := c.warnings.take(); len(w) > 0 {
				t.Errorf("the API server warned:\n%s", strings.Join(w, "\n"))
			}
		})
	}
	kinds := map[string]bool{}
	for _, o := range render(t, allOn) {
		kinds[o.GetKind()] = true
	}
	for _, k := range []string{"CustomResourceDefinition", "Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
		"RoleBinding", "Service", "Ingress", "NetworkPolicy", "ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		if !kinds[k] {
			t.Errorf("testdata/all-on.yaml renders no %s: it no longer turns every option on", k)
		}
	}
}

// Every manager pod, main and shards, is admitted in a namespace that enforces
// the restricted Pod Security Standard.
func TestManagerPodsRunUnderRestrictedPodSecurity(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	ensureRestrictedNamespace(t, c, "jobops-pss")
	for name, values := range map[string][]string{"defaults": nil, "every option on": {allOn}} {
		objs := render(t, values...)
		for _, sa := range ofKind(objs, "ServiceAccount") {
			sa := sa.DeepCopy()
			sa.SetNamespace("jobops-pss")
			if err := c.client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
		deployments := ofKind(objs, "Deployment")
		if len(deployments) == 0 {
			t.Fatalf("%s: no Deployment rendered", name)
		}
		for _, d := range deployments {
			var spec corev1.PodSpec
			tmpl, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &spec); err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: d.GetName(), Namespace: "jobops-pss"}, Spec: spec}
			if err := c.client.Create(ctx, pod, client.DryRunAll); err != nil {
				t.Errorf("%s: the pod of Deployment %s is refused: %v", name, d.GetName(), err)
			}
		}
	}
}

// ensureRestrictedNamespace creates a namespace that enforces, and warns
// about, the restricted Pod Security Standard.
func ensureRestrictedNamespace(t *testing.T, c *cluster, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
	}}}
	if err := c.client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// The chart's RBAC is config/rbac's, rule for rule: the manager's ClusterRole
// is what the kubebuilder markers generate, so the chart can never grant less
// (a broken operator) or more (a needless privilege) than the code asks for.
func TestRBACIsConfigRBAC(t *testing.T) {
	objs := render(t, allOn)
	for _, c := range []struct{ kind, suffix, file string }{
		{"ClusterRole", "-manager", "role.yaml"},
		{"Role", "-leader-election", "leader_election_role.yaml"},
		{"ClusterRole", "-metrics-auth", "metrics_auth_role.yaml"},
		{"ClusterRole", "-metrics-reader", "metrics_reader_role.yaml"},
		{"ClusterRole", "-editor", "jobops_editor_role.yaml"},
		{"ClusterRole", "-viewer", "jobops_viewer_role.yaml"},
	} {
		want := readObject(t, filepath.Join(root, "config", "rbac", c.file))
		got := find(t, objs, c.kind, c.suffix)
		if !equality.Semantic.DeepEqual(got.Object["rules"], want.Object["rules"]) {
			t.Errorf("%s %s: rules differ from config/rbac/%s (run `make chart-files`):\n got: %v\nwant: %v",
				c.kind, got.GetName(), c.file, got.Object["rules"], want.Object["rules"])
		}
		for k, v := range want.GetLabels() {
			if got.GetLabels()[k] != v {
				t.Errorf("%s %s: label %s=%q, config/rbac/%s has %q", c.kind, got.GetName(), k, got.GetLabels()[k], c.file, v)
			}
		}
	}
	// Every binding names the chart's ServiceAccount.
	sa := find(t, objs, "ServiceAccount", "").GetName()
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, b := range ofKind(objs, kind) {
			if strings.HasSuffix(b.GetName(), "-metrics-reader") {
				continue // binds Prometheus, not the manager
			}
			subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
			if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != sa {
				t.Errorf("%s %s binds %v, want the ServiceAccount %s", kind, b.GetName(), subjects, sa)
			}
		}
	}
}

// The chart's CRDs are config/crd/bases, with only Helm's labels and the keep
// policy added, so that `helm upgrade` applies exactly what the API types say.
func TestCRDsAreConfigCRDs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	rendered := ofKind(render(t), "CustomResourceDefinition")
	if len(rendered) != len(files) {
		t.Errorf("the chart renders %d CRDs, config/crd/bases has %d (run `make chart-files`)", len(rendered), len(files))
	}
	for _, f := range files {
		want := readObject(t, f)
		var got *unstructured.Unstructured
		for _, r := range rendered {
			if r.GetName() == want.GetName() {
				got = r.DeepCopy()
			}
		}
		if got == nil {
			t.Errorf("the chart has no CRD %s (run `make chart-files`)", want.GetName())
			continue
		}
		if got.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep: uninstalling would delete every object of its kind", got.GetName())
		}
		if got.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("CRD %s lacks the chart's labels", got.GetName())
		}
		annotations := got.GetAnnotations()
		delete(annotations, "helm.sh/resource-policy")
		got.SetAnnotations(annotations)
		got.SetLabels(nil)
		if !equality.Semantic.DeepEqual(got.Object, want.Object) {
			t.Errorf("CRD %s differs from %s (run `make chart-files`)", got.GetName(), f)
		}
	}
	if got := ofKind(render(t, writeValues(t, "crds: {install: false}")), "CustomResourceDefinition"); len(got) != 0 {
		t.Errorf("crds.install=false still renders %d CRDs", len(got))
	}
}

// The chart reads copies of config/ (Helm cannot read outside the chart):
// they must be the same bytes.
func TestChartFilesAreCopiesOfConfig(t *testing.T) {
	pairs := map[string]string{
		"files/prometheus/alerts.yaml":           "config/prometheus/alerts.yaml",
		"files/grafana/gitlab-job-operator.json": "config/grafana/gitlab-job-operator.json",
	}
	for _, dir := range []struct{ chart, config string }{{"files/crds", "config/crd/bases"}, {"files/rbac", "config/rbac"}} {
		copies, _ := filepath.Glob(filepath.Join(chartDir, dir.chart, "*"))
		for _, c := range copies {
			pairs[filepath.Join(dir.chart, filepath.Base(c))] = filepath.Join(dir.config, filepath.Base(c))
		}
	}
	for copied, source := range pairs {
		a, errA := os.ReadFile(filepath.Join(chartDir, copied))
		b, errB := os.ReadFile(filepath.Join(root, source))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("charts/gitlab-job-operator/%s is not a copy of %s (run `make chart-files`): %v %v", copied, source, errA, errB)
		}
	}
}

// Shards: one Deployment each with its own selector and Lease, the main
// manager taking the objects of no shard, one metrics Service for all, and a
// webhook Service per instance.
func TestShardsRenderOneManagerEach(t *testing.T) {
	objs := render(t, allOn)
	want := map[string][]string{
		"jobops-gitlab-job-operator":        {"--watch-label-selector=!sharding.fluxcd.io/key", "--leader-election-id=jobops-lease"},
		"jobops-gitlab-job-operator-shard1": {"--watch-label-selector=sharding.fluxcd.io/key=shard1", "--leader-election-id=jobops-lease-shard1"},
		"jobops-gitlab-job-operator-shard2": {"--watch-label-selector=sharding.fluxcd.io/key=shard2", "--leader-election-id=jobops-lease-shard2"},
	}
	deployments := ofKind(objs, "Deployment")
	if len(deployments) != len(want) {
		t.Fatalf("%d Deployments, want %d", len(deployments), len(want))
	}
	selectors := map[string]bool{}
	for _, d := range deployments {
		args := managerArgs(t, d)
		for _, a := range append(want[d.GetName()], "--watch-namespaces=team-a,team-b", "--leader-elect=true") {
			if !slices.Contains(args, a) {
				t.Errorf("Deployment %s: no %s in %v", d.GetName(), a, args)
			}
		}
		sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
		selectors[fmt.Sprint(sel)] = true
	}
	if len(selectors) != len(want) {
		t.Errorf("Deployments share a selector: they would fight over their pods")
	}
	if r, _, _ := unstructured.NestedInt64(find(t, objs, "Deployment", "-shard2").Object, "spec", "replicas"); r != 3 {
		t.Errorf("shard2 has %d replicas, want its own 3", r)
	}
	metricsSel, _, _ := unstructured.NestedStringMap(find(t, objs, "Service", "-metrics").Object, "spec", "selector")
	if _, ok := metricsSel["ci.jobops.dev/shard"]; ok {
		t.Errorf("the metrics Service selects one shard (%v); it must scrape every manager", metricsSel)
	}
	for _, s := range []string{"operator-webhook", "shard1-webhook", "shard2-webhook"} {
		find(t, objs, "Service", s)
	}
	// Without shards the main manager takes every object.
	for _, a := range managerArgs(t, ofKind(render(t), "Deployment")[0]) {
		if strings.HasPrefix(a, "--watch-label-selector") {
			t.Errorf("without shards the manager runs with %s", a)
		}
	}
}

// Every flag the chart passes is one the manager has: a renamed or removed
// flag would crash the pod at start.
func TestManagerKnowsEveryFlagTheChartPasses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "manager")
	build := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/manager: %v\n%s", err, out)
	}
	var help bytes.Buffer
	cmd := exec.Command(bin, "--help")
	cmd.Stdout, cmd.Stderr = &help, &help
	_ = cmd.Run() // flag's usage exits 0 on --help; the text is what counts
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1) {
		known[m[1]] = true
	}
	if !known["leader-elect"] {
		t.Fatalf("could not read the manager's flags from its --help:\n%s", help.String())
	}
	for _, values := range [][]string{nil, {allOn}} {
		for _, d := range ofKind(render(t, values...), "Deployment") {
			for _, a := range managerArgs(t, d) {
				name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
				if !known[name] {
					t.Errorf("Deployment %s passes %s, which the manager does not know", d.GetName(), a)
				}
			}
		}
	}
}

func managerArgs(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		c := c.(map[string]any)
		if c["name"] == "manager" {
			args, _, _ := unstructured.NestedStringSlice(c, "args")
			return args
		}
	}
	t.Fatalf("Deployment %s has no manager container", d.GetName())
	return nil
}

// writeValues writes a values file for one test.
func writeValues(t *testing.T, yaml string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
