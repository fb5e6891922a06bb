package devenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// assetBinaries are what the envtest assets directory must hold: the control
// plane and a kubectl of the same version, so that nothing depends on a
// kubectl installed on the machine (CI machines may have none).
var assetBinaries = []string{"kube-apiserver", "etcd", "kubectl"}

// EnvtestAssets returns the directory of kube-apiserver, etcd and kubectl:
// KUBEBUILDER_ASSETS when set (as `make test` sets it), else what
// hack/envtest-binaries.sh prints, which builds the binaries from the Go
// module proxy the first time (minutes) and only finds them afterwards.
// The script's progress goes to progress.
func EnvtestAssets(ctx context.Context, root string, progress *os.File) (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "envtest-binaries.sh"))
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, &out, progress
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("hack/envtest-binaries.sh: %w", err)
		}
		dir = strings.TrimSpace(out.String())
	}
	return dir, CheckAssets(dir)
}

// CheckAssets says which envtest binary is missing from dir, if any.
func CheckAssets(dir string) error {
	for _, b := range assetBinaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return fmt.Errorf("envtest assets %s: no %s (build them with hack/envtest-binaries.sh): %w", dir, b, err)
		}
	}
	return nil
}
