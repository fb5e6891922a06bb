package gitlab

import (
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// Job is a CI job (a build) or a trigger job (a bridge), with the fields
// the controllers match and report on.
type Job struct {
	// ID is the job's id; a retry makes a new one.
	ID int64
	// PipelineID is the pipeline the job belongs to.
	PipelineID int64
	// ProjectID is the numeric id of the job's project.
	ProjectID int64
	// Name, Stage and Ref are as in .gitlab-ci.yml and the pipeline.
	Name, Stage, Ref string
	// Status is one of GitLab's 13 job statuses (pending, running, failed...).
	Status string
	// FailureReason is set only when Status is failed (script_failure...).
	FailureReason string
	// WebURL is the job's page, for messages a person reads.
	WebURL string
	// Tags are the runner tags the job asks for (none for bridges).
	Tags []string
	// CreatedAt, StartedAt, FinishedAt and ErasedAt are nil until they
	// happen.
	CreatedAt, StartedAt, FinishedAt, ErasedAt *time.Time
	// Bridge is true for a trigger job.
	Bridge bool
	// AllowFailure is the job's allow_failure.
	AllowFailure bool
	// UserName is the username of who started this attempt.
	UserName string
	// DownstreamPipelineID is a bridge's triggered pipeline, 0 until it
	// exists.
	DownstreamPipelineID int64
}

// User is the identity a token acts as.
type User struct {
	// ID is the user's numeric id.
	ID int64
	// Username is the handle (without @); Name is the display name.
	Username, Name string
}

// Variable is a CI variable passed when playing a manual job.
type Variable struct {
	// Key and Value are the variable's name and value. The value may be a
	// secret: it is sent to GitLab and kept nowhere else.
	Key, Value string
}

// jobFromLib maps the library's job to the operator's. projectHint is the
// numeric project id the caller asked for (0 for a path): GitLab names the
// project in pipeline.project_id or project.id, and an old or partial
// answer in neither.
func jobFromLib(j *gl.Job, projectHint int64) Job {
	out := Job{
		ID:            j.ID,
		PipelineID:    j.Pipeline.ID,
		ProjectID:     j.Pipeline.ProjectID,
		Name:          j.Name,
		Stage:         j.Stage,
		Ref:           j.Ref,
		Status:        j.Status,
		FailureReason: j.FailureReason,
		WebURL:        j.WebURL,
		Tags:          j.TagList,
		CreatedAt:     j.CreatedAt,
		StartedAt:     j.StartedAt,
		FinishedAt:    j.FinishedAt,
		ErasedAt:      j.ErasedAt,
		AllowFailure:  j.AllowFailure,
	}
	if out.ProjectID == 0 && j.Project != nil {
		out.ProjectID = j.Project.ID
	}
	if out.ProjectID == 0 {
		out.ProjectID = projectHint
	}
	if j.User != nil {
		out.UserName = j.User.Username
	}
	return out
}

// bridgeFromLib maps a trigger job through jobFromLib: GitLab renders a
// bridge with a job's fields, less runner tags, plus the pipeline it
// triggered. The library gives the two their own types, so the shared
// fields are carried over here and mapped in one place.
func bridgeFromLib(b *gl.Bridge, projectHint int64) Job {
	out := jobFromLib(&gl.Job{
		ID: b.ID, Name: b.Name, Stage: b.Stage, Ref: b.Ref,
		Status: b.Status, FailureReason: b.FailureReason, WebURL: b.WebURL,
		CreatedAt: b.CreatedAt, StartedAt: b.StartedAt, FinishedAt: b.FinishedAt, ErasedAt: b.ErasedAt,
		AllowFailure: b.AllowFailure, User: b.User,
		Pipeline: gl.JobPipeline{ID: b.Pipeline.ID, ProjectID: b.Pipeline.ProjectID},
	}, projectHint)
	out.Bridge = true
	if b.DownstreamPipeline != nil {
		out.DownstreamPipelineID = b.DownstreamPipeline.ID
	}
	return out
}

// projectRef turns the project argument into what the library takes: a
// numeric id as int64, otherwise the full path (the library escapes it).
// The second result is the numeric id, or 0 for a path.
func projectRef(project string) (any, int64, error) {
	project = strings.TrimSpace(project)
	if project == "" {
		return nil, 0, configError("project must be a numeric id or a full path")
	}
	if id, err := strconv.ParseInt(project, 10, 64); err == nil && id > 0 {
		return id, id, nil
	}
	return project, 0, nil
}
