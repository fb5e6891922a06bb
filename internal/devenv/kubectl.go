package devenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Kubectl runs the kubectl built with the envtest binaries (never one from
// PATH: it may be missing or of another version) against one kubeconfig.
type Kubectl struct {
	Path       string
	Kubeconfig string
}

// Run runs `kubectl --kubeconfig <file> args...` and returns its stdout. The
// error carries stderr, which is where kubectl says what went wrong.
func (k Kubectl) Run(ctx context.Context, args ...string) (string, error) {
	return k.RunInput(ctx, "", args...)
}

// RunInput is Run with stdin, for `kubectl apply -f -`.
func (k Kubectl) RunInput(ctx context.Context, stdin string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, k.Path, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
