package gitlabsim

import "time"

// Snapshot types returned by the Go API and the admin API. They are copies:
// holding one never races with the server.

// User is a created user.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	// Token is the user's personal access token.
	Token string `json:"token"`
	Admin bool   `json:"admin"`
}

// Project is a created project.
type Project struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	Namespace         string `json:"namespace"`
	DefaultBranch     string `json:"default_branch"`
	WebURL            string `json:"web_url"`
}

// Pipeline is a created pipeline with the ids of its jobs, in the order of
// the spec.
type Pipeline struct {
	ID        int64  `json:"id"`
	IID       int64  `json:"iid"`
	ProjectID int64  `json:"project_id"`
	Ref       string `json:"ref"`
	SHA       string `json:"sha"`
	Status    string `json:"status"`
	WebURL    string `json:"web_url"`
	// Stages are the pipeline's stages in order.
	Stages  []string `json:"stages"`
	Jobs    []JobRef `json:"jobs"`
	Bridges []JobRef `json:"bridges"`
}

// JobRef names a job of a created pipeline.
type JobRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Job is the simulator's view of a job (build or bridge), for assertions.
// It carries facts the API does not show (retried, retry_of, variables).
type Job struct {
	ID            int64  `json:"id"`
	ProjectID     int64  `json:"project_id"`
	PipelineID    int64  `json:"pipeline_id"`
	Kind          string `json:"kind"` // "build" or "bridge"
	Name          string `json:"name"`
	Stage         string `json:"stage"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	When          string `json:"when"`
	Ref           string `json:"ref"`
	AllowFailure  bool   `json:"allow_failure"`
	// Retried is true once a newer attempt replaced this one.
	Retried bool `json:"retried"`
	// RetryOf is the id of the attempt this job retried (0 for a first one).
	RetryOf int64 `json:"retry_of,omitempty"`
	// Username is the job's user (the pipeline's, or whoever retried or
	// played it); empty when null.
	Username string `json:"username,omitempty"`
	// Variables are those passed by the last play.
	Variables    []Variable `json:"variables,omitempty"`
	TraceSize    int        `json:"trace_size"`
	HasArtifacts bool       `json:"has_artifacts"`
	// TokenActive is true while the job's CI_JOB_TOKEN authenticates.
	TokenActive          bool       `json:"token_active"`
	DownstreamPipelineID int64      `json:"downstream_pipeline_id,omitempty"`
	CreatedAt            time.Time  `json:"created_at"`
	QueuedAt             *time.Time `json:"queued_at,omitempty"`
	StartedAt            *time.Time `json:"started_at,omitempty"`
	FinishedAt           *time.Time `json:"finished_at,omitempty"`
	ErasedAt             *time.Time `json:"erased_at,omitempty"`
}

// Agent is a registered agent.
type Agent struct {
	ID                   int64   `json:"id"`
	Name                 string  `json:"name"`
	ConfigProjectID      int64   `json:"config_project_id"`
	AuthorizedProjectIDs []int64 `json:"authorized_project_ids"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
