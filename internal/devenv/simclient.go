package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// SimClient calls the simulator's admin API (/-/sim) over HTTP, decoding
// into gitlabsim's own exported types, so a test reads the simulator exactly
// as in-process tests do.
type SimClient struct {
	// URL is the simulator's base URL, such as http://127.0.0.1:8929.
	URL string
	// AdminToken is sent as X-Sim-Admin-Token; empty when the simulator
	// runs without one.
	AdminToken string
	HTTP       *http.Client
}

// NewSimClient returns a client with a short timeout: the admin API answers
// at once, and a hung simulator should fail a test, not stall it.
func NewSimClient(url, adminToken string) *SimClient {
	return &SimClient{URL: strings.TrimRight(url, "/"), AdminToken: adminToken, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Stats returns the request and action counters.
func (c *SimClient) Stats(ctx context.Context) (gitlabsim.Stats, error) {
	var st gitlabsim.Stats
	return st, c.do(ctx, http.MethodGet, "/-/sim/stats", nil, http.StatusOK, &st)
}

// ResetStats zeroes the counters.
func (c *SimClient) ResetStats(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/-/sim/stats", nil, http.StatusNoContent, nil)
}

// SetFaults injects faults into later API requests.
func (c *SimClient) SetFaults(ctx context.Context, f gitlabsim.Faults) (gitlabsim.FaultState, error) {
	var fs gitlabsim.FaultState
	return fs, c.do(ctx, http.MethodPost, "/-/sim/faults", f, http.StatusOK, &fs)
}

// Faults returns the faults in force.
func (c *SimClient) Faults(ctx context.Context) (gitlabsim.FaultState, error) {
	var fs gitlabsim.FaultState
	return fs, c.do(ctx, http.MethodGet, "/-/sim/faults", nil, http.StatusOK, &fs)
}

// ClearFaults removes every fault.
func (c *SimClient) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/-/sim/faults", nil, http.StatusNoContent, nil)
}

// Job returns the simulator's view of a job, with facts the API hides
// (retried, retry_of, erased_at).
func (c *SimClient) Job(ctx context.Context, id int64) (gitlabsim.Job, error) {
	var j gitlabsim.Job
	return j, c.do(ctx, http.MethodGet, fmt.Sprintf("/-/sim/jobs/%d", id), nil, http.StatusOK, &j)
}

// SetJobStatus moves a job to another status, as a runner would. The answer
// (the job as the API shows it) is not decoded: read it back with Job.
func (c *SimClient) SetJobStatus(ctx context.Context, id int64, spec gitlabsim.StatusSpec) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/-/sim/jobs/%d/status", id), spec, http.StatusOK, nil)
}

// JobToken returns a job's CI_JOB_TOKEN, as the job itself would see it.
func (c *SimClient) JobToken(ctx context.Context, id int64) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	return out.Token, c.do(ctx, http.MethodGet, fmt.Sprintf("/-/sim/jobs/%d/token", id), nil, http.StatusOK, &out)
}

// CreateUser adds a user with a personal access token.
func (c *SimClient) CreateUser(ctx context.Context, spec gitlabsim.UserSpec) (gitlabsim.User, error) {
	var u gitlabsim.User
	return u, c.do(ctx, http.MethodPost, "/-/sim/users", spec, http.StatusCreated, &u)
}

// CreateProject adds a project.
func (c *SimClient) CreateProject(ctx context.Context, spec gitlabsim.ProjectSpec) (gitlabsim.Project, error) {
	var p gitlabsim.Project
	return p, c.do(ctx, http.MethodPost, "/-/sim/projects", spec, http.StatusCreated, &p)
}

// CreateHook registers a project hook: the simulator then POSTs GitLab's Job
// and Pipeline Hooks to its URL.
func (c *SimClient) CreateHook(ctx context.Context, spec gitlabsim.HookSpec) (gitlabsim.Hook, error) {
	var h gitlabsim.Hook
	return h, c.do(ctx, http.MethodPost, "/-/sim/hooks", spec, http.StatusCreated, &h)
}

// CreatePipeline adds a pipeline with its jobs; the answer lists their ids.
func (c *SimClient) CreatePipeline(ctx context.Context, spec gitlabsim.PipelineSpec) (gitlabsim.Pipeline, error) {
	var p gitlabsim.Pipeline
	return p, c.do(ctx, http.MethodPost, "/-/sim/pipelines", spec, http.StatusCreated, &p)
}

// CreateAgent registers a GitLab agent for GET /job/allowed_agents.
func (c *SimClient) CreateAgent(ctx context.Context, spec gitlabsim.AgentSpec) (gitlabsim.Agent, error) {
	var a gitlabsim.Agent
	return a, c.do(ctx, http.MethodPost, "/-/sim/agents", spec, http.StatusCreated, &a)
}

// Reset empties the world: no users, projects or jobs, counters at zero.
func (c *SimClient) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/-/sim/reset", nil, http.StatusNoContent, nil)
}

// do sends one admin request and decodes the answer into out (when not nil).
// Any other status than want is an error with the simulator's message.
func (c *SimClient) do(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.AdminToken != "" {
		req.Header.Set("X-Sim-Admin-Token", c.AdminToken)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		var msg struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &msg) != nil || msg.Message == "" {
			msg.Message = strings.TrimSpace(string(raw))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}
