package devenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the paths of the programs devenv runs.
type Binaries struct {
	Manager   string // ./cmd/manager
	GitLabSim string // ./cmd/gitlab-sim
	Demo      string // ./hack/demo; set only when asked for
}

// Build compiles the manager and the simulator (and the demo program when
// withDemo) into outDir with one `go build`, which compiles the packages they
// share once and in parallel. The build cache makes a second call cheap.
func Build(ctx context.Context, root, outDir string, withDemo bool) (Binaries, error) {
	b := Binaries{
		Manager:   filepath.Join(outDir, "manager"),
		GitLabSim: filepath.Join(outDir, "gitlab-sim"),
	}
	pkgs := []string{"./cmd/manager", "./cmd/gitlab-sim"}
	if withDemo {
		b.Demo = filepath.Join(outDir, "demo")
		pkgs = append(pkgs, "./hack/demo")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return b, err
	}
	// -o with a directory (trailing separator) writes one binary per main
	// package, named after its directory.
	args := append([]string{"build", "-o", outDir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	if flags := os.Getenv("GOFLAGS"); !strings.Contains(flags, "-buildvcs") {
		// A clone without .git (or with a worktree git cannot read) must
		// still build; the Makefile sets the same.
		cmd.Env = append(cmd.Env, strings.TrimSpace("GOFLAGS="+flags+" -buildvcs=false"))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return b, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return b, nil
}
