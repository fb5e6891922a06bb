package gitlab

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// perPage is GitLab's maximum page size: fewer requests per listing.
const perPage = 100

func (c *client) CurrentUser(ctx context.Context) (*User, error) {
	ctx, info := startCall(ctx, http.MethodGet, epUser)
	u, _, err := c.gl.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return nil, c.fail(err, info)
	}
	if u == nil {
		return nil, emptyAnswer(info)
	}
	return &User{ID: u.ID, Username: u.Username, Name: u.Name}, nil
}

func (c *client) GetJob(ctx context.Context, project string, jobID int64) (*Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	ctx, info := startCall(ctx, http.MethodGet, epJob)
	j, _, err := c.gl.Jobs.GetJob(pid, jobID, gl.WithContext(ctx))
	return c.oneJob(j, hint, err, info)
}

func (c *client) ListPipelineJobs(ctx context.Context, project string, pipelineID int64, includeRetried bool) ([]Job, error) {
	opts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: perPage}}
	if includeRetried {
		opts.IncludeRetried = gl.Ptr(true)
	}
	return listAll(ctx, c, project, epPipelineJobs, jobFromLib,
		func(pid any, page ...gl.RequestOptionFunc) ([]*gl.Job, *gl.Response, error) {
			return c.gl.Jobs.ListPipelineJobs(pid, pipelineID, opts, page...)
		})
}

func (c *client) ListPipelineBridges(ctx context.Context, project string, pipelineID int64) ([]Job, error) {
	opts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: perPage}}
	return listAll(ctx, c, project, epBridges, bridgeFromLib,
		func(pid any, page ...gl.RequestOptionFunc) ([]*gl.Bridge, *gl.Response, error) {
			return c.gl.Jobs.ListPipelineBridges(pid, pipelineID, opts, page...)
		})
}

// listAll reads every page of a list of jobs or bridges of project, and
// maps each item with toJob.
func listAll[T any](ctx context.Context, c *client, project, endpoint string, toJob func(*T, int64) Job,
	list func(pid any, page ...gl.RequestOptionFunc) ([]*T, *gl.Response, error)) ([]Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	var out []Job
	for item, err := range pages(ctx, c, endpoint, func(page ...gl.RequestOptionFunc) ([]*T, *gl.Response, error) {
		return list(pid, page...)
	}) {
		if err != nil {
			return nil, err
		}
		if item != nil {
			out = append(out, toJob(item, hint))
		}
	}
	return out, nil
}

func (c *client) ListProjectJobs(ctx context.Context, project string, scopes []string, visit func(Job) bool) error {
	pid, hint, err := projectRef(project)
	if err != nil {
		return err
	}
	// Keyset pagination, the only kind GitLab offers newest first without
	// counting the whole table: order_by=id, sort=desc, next page only
	// through the Link header.
	opts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{
		Pagination: "keyset", PerPage: perPage, OrderBy: "id", Sort: "desc",
	}}
	if len(scopes) > 0 {
		s := make([]gl.BuildStateValue, 0, len(scopes))
		for _, v := range scopes {
			s = append(s, gl.BuildStateValue(v))
		}
		opts.Scope = &s
	}
	for j, err := range pages(ctx, c, epProjectJobs, func(page ...gl.RequestOptionFunc) ([]*gl.Job, *gl.Response, error) {
		return c.gl.Jobs.ListProjectJobs(pid, opts, page...)
	}) {
		if err != nil {
			return err
		}
		// Leaving the loop is what stops the walk: no further page is
		// fetched.
		if j != nil && !visit(jobFromLib(j, hint)) {
			return nil
		}
	}
	return nil
}

func (c *client) RetryJob(ctx context.Context, project string, jobID int64) (*Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	ctx, info := startCall(ctx, http.MethodPost, epRetry)
	j, _, err := c.gl.Jobs.RetryJob(pid, jobID, gl.WithContext(ctx))
	return c.oneJob(j, hint, err, info)
}

func (c *client) PlayJob(ctx context.Context, project string, jobID int64, vars []Variable) (*Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	opts := &gl.PlayJobOptions{}
	if len(vars) > 0 {
		attrs := make([]*gl.JobVariableOptions, 0, len(vars))
		for _, v := range vars {
			attrs = append(attrs, &gl.JobVariableOptions{Key: gl.Ptr(v.Key), Value: gl.Ptr(v.Value)})
		}
		opts.JobVariablesAttributes = &attrs
	}
	ctx, info := startCall(ctx, http.MethodPost, epPlay)
	j, _, err := c.gl.Jobs.PlayJob(pid, jobID, opts, gl.WithContext(ctx))
	return c.oneJob(j, hint, err, info)
}

func (c *client) CancelJob(ctx context.Context, project string, jobID int64, force bool) (*Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	ctx, info := startCall(ctx, http.MethodPost, epCancel)
	var opts *gl.CancelJobOptions
	reqOpts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
	if force {
		// The library sends force in the JSON body; GitLab (Grape) reads
		// body and query alike, and documents it as a query parameter, so
		// send both to be understood by any faithful implementation.
		opts = &gl.CancelJobOptions{Force: gl.Ptr(true)}
		reqOpts = append(reqOpts, withQuery("force", "true"))
	}
	//nolint:staticcheck // CancelJob has no options yet; the library says to use this one for force.
	j, _, err := c.gl.Jobs.CancelJobWithOptions(pid, jobID, opts, reqOpts...)
	return c.oneJob(j, hint, err, info)
}

func (c *client) EraseJob(ctx context.Context, project string, jobID int64) (*Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	ctx, info := startCall(ctx, http.MethodPost, epErase)
	j, _, err := c.gl.Jobs.EraseJob(pid, jobID, gl.WithContext(ctx))
	return c.oneJob(j, hint, err, info)
}

func (c *client) oneJob(j *gl.Job, hint int64, err error, info *callInfo) (*Job, error) {
	if err != nil {
		return nil, c.fail(err, info)
	}
	if j == nil {
		return nil, emptyAnswer(info)
	}
	out := jobFromLib(j, hint)
	return &out, nil
}

// withQuery adds one query parameter to a request.
func withQuery(key, value string) gl.RequestOptionFunc {
	return func(req *retryablehttp.Request) error {
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			return err
		}
		q.Set(key, value)
		req.URL.RawQuery = q.Encode()
		return nil
	}
}
