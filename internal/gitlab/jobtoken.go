package gitlab

import (
	"context"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// JobTokenClient answers for a CI job's own token (CI_JOB_TOKEN, sent as
// JOB-TOKEN). GitLab accepts a job token only on a few read endpoints and
// only while its job runs; afterwards every call is Unauthorized.
type JobTokenClient interface {
	// CurrentJob returns who the token is (GET /job). A token that is not a
	// job token gets JobNotFoundForToken.
	CurrentJob(ctx context.Context) (*JobTokenIdentity, error)
	// AllowedAgents returns the agents the token's job may use
	// (GET /job/allowed_agents).
	AllowedAgents(ctx context.Context) (*AllowedAgents, error)
}

// JobTokenIdentity is the job a job token belongs to, and who runs it.
type JobTokenIdentity struct {
	// JobID, PipelineID and ProjectID locate the requesting job.
	JobID, PipelineID, ProjectID int64
	// JobName and Ref describe it; JobStatus is running while the token is
	// valid.
	JobName, Ref, JobStatus string
	// UserID and Username are the user the job runs as.
	UserID   int64
	Username string
}

// AllowedAgents is GitLab's answer to GET /job/allowed_agents.
type AllowedAgents struct {
	// AgentIDs are the cluster agents the job may use.
	AgentIDs []int64
	// JobID, PipelineID and ProjectID locate the requesting job.
	JobID, PipelineID, ProjectID int64
	// GroupIDs are the groups above the project.
	GroupIDs []int64
	// UserID, Username and RolesInProject describe who runs the job.
	UserID         int64
	Username       string
	RolesInProject []string
	// EnvironmentTier and EnvironmentSlug are empty when the job has no
	// environment.
	EnvironmentTier, EnvironmentSlug string
}

type jobTokenClient struct {
	gl     *gl.Client
	secret string
}

var _ JobTokenClient = (*jobTokenClient)(nil)

func newJobTokenClient(baseURL, jobToken string, hc *http.Client, policy retryPolicy) (*jobTokenClient, error) {
	if jobToken == "" {
		return nil, configError("job token is empty")
	}
	g, err := newLibraryClient(gl.JobTokenAuthSource{Token: jobToken}, baseURL, hc, policy)
	if err != nil {
		return nil, err
	}
	return &jobTokenClient{gl: g, secret: jobToken}, nil
}

func (c *jobTokenClient) CurrentJob(ctx context.Context) (*JobTokenIdentity, error) {
	ctx, info := startCall(ctx, http.MethodGet, epTokenJob)
	// No options: the token goes in the JOB-TOKEN header, never the query.
	j, _, err := c.gl.Jobs.GetJobTokensJob(nil, gl.WithContext(ctx))
	if err != nil {
		return nil, newError(err, info, c.secret)
	}
	if j == nil {
		return nil, emptyAnswer(info)
	}
	id := &JobTokenIdentity{
		JobID:      j.ID,
		PipelineID: j.Pipeline.ID,
		ProjectID:  j.Pipeline.ProjectID,
		JobName:    j.Name,
		Ref:        j.Ref,
		JobStatus:  j.Status,
	}
	if id.ProjectID == 0 && j.Project != nil {
		id.ProjectID = j.Project.ID
	}
	if j.User != nil {
		id.UserID = j.User.ID
		id.Username = j.User.Username
	}
	return id, nil
}

// allowedAgentsDoc is the response of GET /job/allowed_agents, which the
// library does not model.
type allowedAgentsDoc struct {
	AllowedAgents []struct {
		ID int64 `json:"id"`
	} `json:"allowed_agents"`
	Job struct {
		ID int64 `json:"id"`
	} `json:"job"`
	Pipeline struct {
		ID int64 `json:"id"`
	} `json:"pipeline"`
	Project struct {
		ID     int64 `json:"id"`
		Groups []struct {
			ID int64 `json:"id"`
		} `json:"groups"`
	} `json:"project"`
	User struct {
		ID             int64    `json:"id"`
		Username       string   `json:"username"`
		RolesInProject []string `json:"roles_in_project"`
	} `json:"user"`
	Environment *struct {
		Tier string `json:"tier"`
		Slug string `json:"slug"`
	} `json:"environment"`
}

func (c *jobTokenClient) AllowedAgents(ctx context.Context) (*AllowedAgents, error) {
	ctx, info := startCall(ctx, http.MethodGet, epAllowedAgents)
	req, err := c.gl.NewRequest(http.MethodGet, "job/allowed_agents", nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return nil, configError("cannot build the allowed_agents request")
	}
	var doc allowedAgentsDoc
	if _, err := c.gl.Do(req, &doc); err != nil {
		return nil, newError(err, info, c.secret)
	}
	out := &AllowedAgents{
		JobID:          doc.Job.ID,
		PipelineID:     doc.Pipeline.ID,
		ProjectID:      doc.Project.ID,
		UserID:         doc.User.ID,
		Username:       doc.User.Username,
		RolesInProject: doc.User.RolesInProject,
	}
	for _, a := range doc.AllowedAgents {
		out.AgentIDs = append(out.AgentIDs, a.ID)
	}
	for _, g := range doc.Project.Groups {
		out.GroupIDs = append(out.GroupIDs, g.ID)
	}
	if doc.Environment != nil {
		out.EnvironmentTier = doc.Environment.Tier
		out.EnvironmentSlug = doc.Environment.Slug
	}
	return out, nil
}
