package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// The install commands of docs/operations.md work as written against a
// kube-apiserver, up to where a real cluster would pull the image: each block
// marked "tested:" runs in bash, with kubectl and helm on PATH, on a control
// plane of its own (the Helm and kustomize installs would own the same CRDs).
func TestOperationsDocInstallCommandsWorkAsWritten(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)<!-- tested: ([a-z-]+)[^>]*-->\n```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	names := map[string]bool{}
	for _, b := range blocks {
		names[b[1]] = true
	}
	if !names["helm-install"] || !names["kustomize-install"] {
		t.Fatalf("docs/operations.md has no tested helm-install and kustomize-install blocks (found %v)", names)
	}
	for _, b := range blocks {
		t.Run(b[1], func(t *testing.T) {
			c := newCluster(t)
			bin := t.TempDir()
			for name, path := range map[string]string{"kubectl": c.cp.Kubectl.Path, "helm": tool(t, "HELM", "helm")} {
				if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
					t.Fatal(err)
				}
			}
			home := t.TempDir()
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", b[2])
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+c.cp.Kubeconfig,
				"HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s\nfailed: %v\n%s", b[2], err, out)
			}
			t.Logf("%s", out)
		})
	}
}
