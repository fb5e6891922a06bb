package devenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SimulatorOptions configure one bin/gitlab-sim process.
type SimulatorOptions struct {
	// Binary is the gitlab-sim program.
	Binary string
	// World is "demo" (gitlabsim.LoadDemoWorld: fixed ids on a fresh
	// simulator) or "empty"; default empty.
	World string
	// AdminToken guards /-/sim; a random one is made when empty, so nothing
	// else on the machine can reset or fault the simulator by accident.
	AdminToken string
	// Lifecycle, when set, has the simulator play the runner: jobs go
	// pending -> running -> success|failed on their own.
	Lifecycle *Lifecycle
	// Args are more flags (see gitlab-sim -help).
	Args []string
	// LogPath receives the simulator's output.
	LogPath string
}

// Lifecycle are the simulator's lifecycle timings.
type Lifecycle struct {
	Pending, Running, LogInterval time.Duration
}

// Simulator is a running bin/gitlab-sim.
type Simulator struct {
	*Process
	// URL is the base URL (the API is under /api/v4).
	URL        string
	AdminToken string
	Admin      *SimClient
}

var listeningLine = regexp.MustCompile(`gitlab-sim listening on (http://\S+)`)

// StartSimulator starts the simulator on a port of its choosing (port 0: no
// race for a free port) and returns once it has loaded its world and says
// "ready", which is when its printed URL is known too.
func StartSimulator(ctx context.Context, o SimulatorOptions) (*Simulator, error) {
	if o.World == "" {
		o.World = "empty"
	}
	if o.AdminToken == "" {
		o.AdminToken = RandomToken("sim-admin-")
	}
	args := []string{"--listen", "127.0.0.1:0", "--world", o.World, "--admin-token", o.AdminToken}
	if l := o.Lifecycle; l != nil {
		args = append(args, "--lifecycle", "--pending-duration", l.Pending.String(),
			"--running-duration", l.Running.String(), "--log-interval", l.LogInterval.String())
	}
	p, err := StartProcess(ProcessSpec{Name: "gitlab-sim", Path: o.Binary, Args: append(args, o.Args...), LogPath: o.LogPath})
	if err != nil {
		return nil, err
	}
	out, err := waitForOutput(ctx, p, "\nready\n")
	if err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	m := listeningLine.FindStringSubmatch(out)
	if m == nil {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("gitlab-sim did not print its URL; see %s", p.LogPath())
	}
	return &Simulator{Process: p, URL: m[1], AdminToken: o.AdminToken, Admin: NewSimClient(m[1], o.AdminToken)}, nil
}

// waitForOutput waits until the process has printed marker, and returns its
// output until then.
func waitForOutput(ctx context.Context, p *Process, marker string) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := p.Output()
		if err != nil {
			return "", err
		}
		if strings.Contains(out, marker) {
			return out, nil
		}
		if done, exitErr := p.Exited(); done {
			//nolint:errorlint // exitErr is nil after a clean exit, which %w would print badly
			return "", fmt.Errorf("%s exited before it was ready (%v); see %s", p.Name(), exitErr, p.LogPath())
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for %s to print %q: %w; see %s", p.Name(), strings.TrimSpace(marker), ctx.Err(), p.LogPath())
		case <-tick.C:
		}
	}
}

// RandomToken returns prefix and 16 random hex digits.
func RandomToken(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return prefix + hex.EncodeToString(b)
}
