package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// helm install, upgrade and uninstall, for real, against a kube-apiserver:
// install creates the CRDs, upgrade changes them (Helm never upgrades crds/,
// which is why the chart ships them as templates), and uninstall keeps them.
func TestInstallUpgradeUninstallKeepCRDsCurrent(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	kube, err := client.New(c.cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ensureRestrictedNamespace(t, c, "jobops-system")
	kubeconfig := []string{"KUBECONFIG=" + c.cp.Kubeconfig}

	// A copy of the chart, whose CRD the test edits as a new release would.
	chart := filepath.Join(t.TempDir(), "gitlab-job-operator")
	if err := os.CopyFS(chart, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	if out, err := helm(t, kubeconfig, "install", "jobops", chart, "--namespace", "jobops-system"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	name := "jobactions.ci.jobops.dev"
	if err := kube.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
		t.Fatalf("after helm install: %v", err)
	}
	var d appsv1.Deployment
	if err := kube.Get(ctx, client.ObjectKey{Namespace: "jobops-system", Name: "jobops-gitlab-job-operator"}, &d); err != nil {
		t.Fatalf("after helm install: %v", err)
	}

	// The next version of the API: a new printer column.
	file := filepath.Join(chart, "files", "crds", "ci.jobops.dev_jobactions.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "  - additionalPrinterColumns:\n"
	if !strings.Contains(string(raw), anchor) {
		t.Fatalf("%s has no printer columns to add to", file)
	}
	next := strings.Replace(string(raw), anchor, anchor+"    - jsonPath: .spec.project\n      name: Project\n      type: string\n", 1)
	if err := os.WriteFile(file, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := helm(t, kubeconfig, "upgrade", "jobops", chart, "--namespace", "jobops-system"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := kube.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
		t.Fatal(err)
	}
	if cols := crd.Spec.Versions[0].AdditionalPrinterColumns; len(cols) == 0 || cols[0].Name != "Project" {
		t.Errorf("after helm upgrade the CRD's printer columns are %v: the upgrade did not reach the CRD", cols)
	}

	if out, err := helm(t, kubeconfig, "uninstall", "jobops", "--namespace", "jobops-system"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := kube.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
		t.Errorf("helm uninstall deleted the CRD (and would have deleted every JobAction): %v", err)
	}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(&d), &d); !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall the Deployment is still there: %v", err)
	}
}
