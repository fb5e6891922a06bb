package gitlabsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The spec types below are decoded from the admin API's JSON bodies and from
// cmd/gitlab-sim's YAML fixtures, and passed as they are to the Go methods,
// so a test written against either interface means the same thing.

// UserSpec creates a user and its personal access token.
type UserSpec struct {
	// Username is unique; required.
	Username string `json:"username"`
	// Name defaults to Username.
	Name string `json:"name,omitempty"`
	// Token is the personal access token (PRIVATE-TOKEN). A random glpat-
	// token is made when empty.
	Token string `json:"token,omitempty"`
	// Email defaults to <username>@example.com.
	Email string `json:"email,omitempty"`
	// Admin marks an instance administrator (shown by GET /user).
	Admin bool `json:"admin,omitempty"`
}

// ProjectSpec creates a project.
type ProjectSpec struct {
	// ID is the numeric id; the next free id is used when zero.
	ID int64 `json:"id,omitempty"`
	// PathWithNamespace is the full path, e.g. "group/app"; required, unique
	// (case-insensitively, as in GitLab).
	PathWithNamespace string `json:"path_with_namespace"`
	// Name defaults to the last path segment.
	Name string `json:"name,omitempty"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// DefaultBranch defaults to "main".
	DefaultBranch string `json:"default_branch,omitempty"`
	// Members restricts access. Empty: every user is a maintainer, which is
	// what most tests want. Otherwise only these users see the project (others
	// get 404 Project Not Found), with the given role.
	Members []MemberSpec `json:"members,omitempty"`
}

// MemberSpec gives a user a role in a project.
type MemberSpec struct {
	Username string `json:"username"`
	// Role is guest, planner, reporter, developer, maintainer or owner. Reading jobs
	// needs reporter; cancel, retry, erase and play need developer.
	Role string `json:"role"`
}

// PipelineSpec creates a pipeline with its jobs and bridges.
type PipelineSpec struct {
	// ProjectID or ProjectPath names the project; one is required.
	ProjectID   int64  `json:"project_id,omitempty"`
	ProjectPath string `json:"project_path,omitempty"`
	// Ref defaults to the project's default branch.
	Ref string `json:"ref,omitempty"`
	// SHA is 40 hex digits; a deterministic one is made when empty.
	SHA string `json:"sha,omitempty"`
	// Tag marks a tag pipeline (the jobs' "tag" field).
	Tag bool `json:"tag,omitempty"`
	// Username is the user who triggered the pipeline (the jobs' "user");
	// null when empty.
	Username string `json:"username,omitempty"`
	// Source defaults to "push".
	Source string `json:"source,omitempty"`
	// Stages orders the pipeline's stages, as stages: in .gitlab-ci.yml;
	// every job's stage must be one of them. Empty: GitLab's defaults (.pre,
	// build, test, deploy, .post) when the jobs use only those, otherwise
	// the order in which stages first appear among the jobs, then the
	// bridges. The lifecycle engine starts a stage's jobs when the stages
	// before it have succeeded.
	Stages []string `json:"stages,omitempty"`
	// CreatedAt defaults to now; use it to make old pipelines.
	CreatedAt *time.Time `json:"created_at,omitempty"`
	// CreatedAgo is CreatedAt relative to when the pipeline is created, as a
	// Go duration ("72h", "30m"), for fixtures that must look the same
	// whenever they are loaded. Give CreatedAt or CreatedAgo, not both.
	CreatedAgo string       `json:"created_ago,omitempty"`
	Jobs       []JobSpec    `json:"jobs,omitempty"`
	Bridges    []BridgeSpec `json:"bridges,omitempty"`
}

// JobSpec describes one build (a job a runner executes).
type JobSpec struct {
	// Name is required. Attempts of a job (the original and its retries)
	// share the name within the pipeline.
	Name string `json:"name"`
	// Stage defaults to "test".
	Stage string `json:"stage,omitempty"`
	// Status is any of the thirteen statuses; defaults to "manual" when When
	// is manual, otherwise "pending".
	Status string `json:"status,omitempty"`
	// FailureReason is kept only when Status is failed (default
	// unknown_failure then).
	FailureReason string `json:"failure_reason,omitempty"`
	// When is on_success (default), manual, always, on_failure or delayed.
	// A manual job can be played.
	When string `json:"when,omitempty"`
	// Trace is the job log.
	Trace string `json:"trace,omitempty"`
	// TraceBytes pads the log with filler lines up to this many bytes, to try
	// clients on large logs.
	TraceBytes int `json:"trace_bytes,omitempty"`
	// TagList are the runner tags.
	TagList []string `json:"tag_list,omitempty"`
	// Artifacts gives the job an artifacts archive once it has finished
	// (immediately when created finished).
	Artifacts bool `json:"artifacts,omitempty"`
	// AllowFailure lets the job fail (or, when manual, wait) without failing
	// (or holding) the pipeline or the stages after it. Default: true for a
	// when: manual job, as GitLab's default for manual jobs outside rules;
	// false otherwise.
	AllowFailure *bool `json:"allow_failure,omitempty"`
	// Coverage is the reported coverage percentage; null when absent.
	Coverage *float64 `json:"coverage,omitempty"`
	// Needs names jobs of the same pipeline this one waits for, instead of
	// the earlier stages (needs: in .gitlab-ci.yml); an empty list starts it
	// at once. Absent: it waits for the earlier stages.
	Needs []string `json:"needs,omitempty"`
	// Outcomes script how each run of this job ends under the lifecycle
	// engine: each attempt that the engine finishes (the original and every
	// retry or play) consumes the next outcome; the last one repeats. See
	// Outcome for the forms.
	Outcomes []Outcome `json:"outcomes,omitempty"`
	// Flakiness is the probability (0..1) that a run without scripted
	// outcomes fails, drawn from a generator seeded by Options.Seed and the
	// job id, so a run is reproducible.
	Flakiness float64 `json:"flakiness,omitempty"`
	// FlakyOutcome is how a flaky run fails; default "failed:script_failure".
	FlakyOutcome *Outcome `json:"flaky_outcome,omitempty"`
	// Stuck keeps the lifecycle engine away from this job and its retries: a
	// pending job no runner picks, or a run that never ends.
	Stuck bool `json:"stuck,omitempty"`
	// Environment names the deployment environment (shown by
	// /job/allowed_agents); EnvironmentTier defaults to "other".
	Environment     string `json:"environment,omitempty"`
	EnvironmentTier string `json:"environment_tier,omitempty"`
	// CreatedAt, StartedAt and FinishedAt override the timestamps the status
	// implies; use them for old jobs.
	CreatedAt *time.Time `json:"created_at,omitempty"`
	// CreatedAgo is as PipelineSpec's.
	CreatedAgo string     `json:"created_ago,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// BridgeSpec describes one trigger job (a job that starts a downstream
// pipeline).
type BridgeSpec struct {
	Name          string `json:"name"`
	Stage         string `json:"stage,omitempty"`
	Status        string `json:"status,omitempty"`
	FailureReason string `json:"failure_reason,omitempty"`
	When          string `json:"when,omitempty"`
	// AllowFailure defaults as JobSpec's does.
	AllowFailure *bool `json:"allow_failure,omitempty"`
	// Needs is as JobSpec's.
	Needs []string `json:"needs,omitempty"`
	// DownstreamStatus, when set, creates the downstream pipeline with this
	// status; downstream_pipeline is null otherwise.
	DownstreamStatus string `json:"downstream_status,omitempty"`
	// DownstreamProjectID or DownstreamProjectPath is the downstream
	// pipeline's project (default: the
	// bridge's own project).
	DownstreamProjectID   int64      `json:"downstream_project_id,omitempty"`
	DownstreamProjectPath string     `json:"downstream_project_path,omitempty"`
	CreatedAt             *time.Time `json:"created_at,omitempty"`
	// CreatedAgo is as PipelineSpec's.
	CreatedAgo string `json:"created_ago,omitempty"`
}

// StatusSpec is a transition requested through the admin API.
type StatusSpec struct {
	Status string `json:"status"`
	// FailureReason applies when Status is failed (default unknown_failure).
	FailureReason string `json:"failure_reason,omitempty"`
	// Log is appended to the job's log.
	Log string `json:"log,omitempty"`
}

// AgentSpec registers a GitLab agent for Kubernetes, for
// GET /job/allowed_agents.
type AgentSpec struct {
	// ID defaults to the next free id.
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// ConfigProjectID is the project holding the agent's configuration; its
	// own jobs may use the agent.
	ConfigProjectID int64 `json:"config_project_id,omitempty"`
	// ConfigProjectPath names that project by path instead.
	ConfigProjectPath string `json:"config_project_path,omitempty"`
	// AuthorizedProjectIDs are the other projects whose jobs may use it.
	AuthorizedProjectIDs []int64 `json:"authorized_project_ids,omitempty"`
	// AuthorizedProjectPaths names more of them by path.
	AuthorizedProjectPaths []string `json:"authorized_project_paths,omitempty"`
	// Configuration is returned as the agent's "configuration" object.
	Configuration map[string]any `json:"configuration,omitempty"`
}

// Variable is a job variable passed to play.
type Variable struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Outcome is how one run of a job ends under the lifecycle engine. In JSON or
// YAML it is either a string "success", "failed", "failed:<reason>" or
// "failed:<reason>:<log text>", or an object
// {"status":"failed","failure_reason":"...","log":"..."}.
type Outcome struct {
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	// Log is appended to the job log when the run ends this way, so rules
	// that match log text can be tried.
	Log string `json:"log,omitempty"`
}

// ParseOutcome reads the string form of an Outcome.
func ParseOutcome(s string) (Outcome, error) {
	parts := strings.SplitN(s, ":", 3)
	o := Outcome{Status: parts[0]}
	if len(parts) > 1 {
		o.FailureReason = parts[1]
	}
	if len(parts) > 2 {
		o.Log = parts[2]
	}
	return o, o.validate()
}

func (o Outcome) validate() error {
	switch o.Status {
	case StatusSuccess:
		if o.FailureReason != "" {
			return fmt.Errorf("outcome %q: only a failed outcome has a failure reason", o.Status)
		}
	case StatusFailed, StatusCanceled:
	default:
		return fmt.Errorf("outcome status %q: want success, failed or canceled", o.Status)
	}
	return nil
}

// UnmarshalJSON accepts both the string and the object form.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := ParseOutcome(s)
		if err != nil {
			return err
		}
		*o = v
		return nil
	}
	type plain Outcome
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("outcome: want a string like \"failed:script_failure\" or an object: %w", err)
	}
	if err := Outcome(v).validate(); err != nil {
		return err
	}
	*o = Outcome(v)
	return nil
}

// String gives the compact string form.
func (o Outcome) String() string {
	s := o.Status
	if o.FailureReason != "" || o.Log != "" {
		s += ":" + o.FailureReason
	}
	if o.Log != "" {
		s += ":" + o.Log
	}
	return s
}
