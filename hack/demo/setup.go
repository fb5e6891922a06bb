package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// Ids of the demo world on a fresh simulator (see gitlabsim.LoadDemoWorld).
const (
	demoHookToken  = "whsec-demo-0123456789"
	demoAgentID    = 1  // platform-agent, authorized for platform/app
	longTestJobID  = 13 // feature/long-test: running, stuck, has a CI_JOB_TOKEN
	longTestName   = "long-test"
	jobTokenSecret = "long-test-job-token"
)

// setUpNamespace creates what config/demo relies on and cannot hold itself:
// the namespace, the connection to this run's simulator (its URL has a fresh
// port) with its token Secret, and the CI job token of feature/long-test
// (which only the simulator knows), for the JobAction that a CI job requests.
func (d *demo) setUpNamespace(ctx context.Context) error {
	job, err := d.sim.Admin.Job(ctx, longTestJobID)
	if err != nil {
		return fmt.Errorf("the demo world's feature/long-test job: %w", err)
	}
	if job.Name != longTestName || job.Status != gitlabsim.StatusRunning {
		return fmt.Errorf("job %d is %s %q, not the demo world's running %s: has gitlabsim.LoadDemoWorld changed?",
			longTestJobID, job.Status, job.Name, longTestName)
	}
	token, err := d.sim.Admin.JobToken(ctx, longTestJobID)
	if err != nil {
		return err
	}
	if _, err := d.cp.Kubectl.RunInput(ctx, namespaceManifests(d.sim.URL, token), "apply", "-f", "-"); err != nil {
		return err
	}
	d.logf("created namespace %s: Secret gitlab-token, GitLabConnection gitlab (agentID %d), Secret %s (the CI_JOB_TOKEN of job %d)",
		Namespace, demoAgentID, jobTokenSecret, longTestJobID)
	return nil
}

// namespaceManifests are the objects setUpNamespace applies. The connection
// declares its expected outcome like the manifests in config/demo.
func namespaceManifests(simURL, jobToken string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: Secret
metadata:
  name: gitlab-token
  namespace: %[1]s
stringData:
  token: %[2]s
---
apiVersion: v1
kind: Secret
metadata:
  name: %[3]s
  namespace: %[1]s
stringData:
  token: %[4]s
---
apiVersion: v1
kind: Secret
metadata:
  name: gitlab-webhook
  namespace: %[1]s
stringData:
  token: %[8]s
---
apiVersion: ci.jobops.dev/v1alpha1
kind: GitLabConnection
metadata:
  name: gitlab
  namespace: %[1]s
  annotations:
    %[5]s: Ready/Succeeded
spec:
  url: %[6]s
  tokenSecretRef:
    name: gitlab-token
  webhook:
    secretRef:
      name: gitlab-webhook
  agentID: %[7]d
`, Namespace, gitlabsim.DemoToken, jobTokenSecret, jobToken, annotationExpect, simURL, demoAgentID, demoHookToken)
}

// connectWebhooks registers, in the simulator, a project hook for each demo
// project pointing at the manager's webhook receiver, as a user does in
// GitLab's settings: the URL is the receiver's address and the path the
// connection publishes, with the connection's webhook token.
func (d *demo) connectWebhooks(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := d.cp.Kubectl.Run(wctx, "wait", "-n", Namespace, "gitlabconnection/gitlab", "--for=condition=WebhookReady", "--timeout=60s",
		"-o", "jsonpath={.status.webhookPath}")
	if err != nil {
		return fmt.Errorf("the connection's webhook path: %w", err)
	}
	path := strings.TrimSpace(out)
	for _, project := range []string{"platform/app", "platform/infra"} {
		if _, err := d.sim.Admin.CreateHook(ctx, gitlabsim.HookSpec{ProjectPath: project, URL: d.manager.WebhookURL() + path,
			Token: demoHookToken, JobEvents: true, PipelineEvents: true}); err != nil {
			return fmt.Errorf("registering the webhook of %s: %w", project, err)
		}
	}
	d.logf("registered GitLab webhooks for platform/app and platform/infra: %s%s (Job and Pipeline events)", d.manager.WebhookURL(), path)
	return nil
}

// writeEnv writes bin/demo/env: what a user or a script needs to reach this
// run's cluster and simulator, as NAME=value lines (`set -a; . bin/demo/env`).
func (d *demo) writeEnv() error {
	path := filepath.Join(d.o.out, "env")
	env := strings.Join([]string{
		"KUBECONFIG=" + d.cp.Kubeconfig,
		"GITLAB_URL=" + d.sim.URL,
		"GITLAB_TOKEN=" + gitlabsim.DemoToken,
		"GITLAB_SIM_ADMIN_TOKEN=" + d.sim.AdminToken,
	}, "\n") + "\n"
	if err := os.WriteFile(path, []byte(env), 0o600); err != nil {
		return err
	}
	d.files = append(d.files, path)
	return nil
}

// runningPid reads a pid file and says whether that process is alive.
func runningPid(path string) (int, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return 0, false
	}
	// Signal 0 checks existence; EPERM means it exists but is not ours.
	err = syscall.Kill(pid, 0)
	return pid, err == nil || errors.Is(err, syscall.EPERM)
}
