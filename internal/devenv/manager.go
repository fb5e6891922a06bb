package devenv

import (
	"context"
	"fmt"
	"time"
)

// ManagerOptions configure the bin/manager process.
type ManagerOptions struct {
	// Binary is the manager program.
	Binary string
	// Kubeconfig is the cluster to run against (passed as KUBECONFIG, as a
	// user running the manager outside the cluster would).
	Kubeconfig string
	// Args are more flags, after the defaults (a later flag wins).
	Args []string
	// LogPath receives the output of every run, one after the other.
	LogPath string
}

// Manager is the operator's manager process, which crash tests kill and
// start again.
type Manager struct {
	o    ManagerOptions
	proc *Process
	// webhookAddr is where its webhook receiver listens, the same across
	// restarts so that hooks registered with it keep working.
	webhookAddr string
	// identity names it in the claims it writes, the same across restarts, as
	// a pod's restarted container keeps its host name and process id.
	identity string
}

// StartManager starts the manager and waits until its health probe answers.
func StartManager(ctx context.Context, o ManagerOptions) (*Manager, error) {
	m := &Manager{o: o}
	return m, m.Start(ctx)
}

// Start starts the manager (again, after Kill or Stop) and waits until it
// serves /readyz. Leader election is off, as in a single-replica install:
// a restarted manager does not wait out its killed predecessor's lease, so
// crash tests measure recovery, not lease expiry.
func (m *Manager) Start(ctx context.Context) error {
	if m.proc != nil {
		if done, _ := m.proc.Exited(); !done {
			return fmt.Errorf("manager (pid %d) is still running", m.proc.Pid())
		}
	}
	probe, err := FreeAddr()
	if err != nil {
		return err
	}
	if m.webhookAddr == "" {
		if m.webhookAddr, err = FreeAddr(); err != nil {
			return err
		}
	}
	if m.identity == "" {
		m.identity = RandomToken("manager-")
	}
	args := append([]string{"--metrics-bind-address=0", "--health-probe-bind-address=" + probe, "--leader-elect=false",
		"--webhook-bind-address=" + m.webhookAddr, "--identity=" + m.identity}, m.o.Args...)
	p, err := StartProcess(ProcessSpec{
		Name: "manager", Path: m.o.Binary, Args: args,
		Env: []string{"KUBECONFIG=" + m.o.Kubeconfig}, LogPath: m.o.LogPath,
	})
	if err != nil {
		return err
	}
	m.proc = p
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := WaitForURL(wctx, "http://"+probe+"/readyz", p.Done()); err != nil {
		_ = p.Stop(5 * time.Second)
		return fmt.Errorf("manager not ready: %w; see %s", err, m.o.LogPath)
	}
	return nil
}

// Kill crashes the manager with SIGKILL: no graceful shutdown, no last
// status write, requests in flight cut off.
func (m *Manager) Kill() {
	if m.proc != nil {
		m.proc.Kill()
	}
}

// Stop ends the manager with SIGTERM (SIGKILL after grace).
func (m *Manager) Stop(grace time.Duration) error {
	if m.proc == nil {
		return nil
	}
	return m.proc.Stop(grace)
}

// WebhookURL is the base URL of the manager's webhook receiver: a hook's URL
// is this and a GitLabConnection's status.webhookPath.
func (m *Manager) WebhookURL() string { return "http://" + m.webhookAddr }

// Process is the current run; nil before the first Start.
func (m *Manager) Process() *Process { return m.proc }
