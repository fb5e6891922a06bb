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
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	listOpts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: perPage}}
	if includeRetried {
		listOpts.IncludeRetried = gl.Ptr(true)
	}
	libJobs, err := allPages(ctx, c, epPipelineJobs, func(opts ...gl.RequestOptionFunc) ([]*gl.Job, *gl.Response, error) {
		return c.gl.Jobs.ListPipelineJobs(pid, pipelineID, listOpts, opts...)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(libJobs))
	for _, j := range libJobs {
		if j != nil {
			out = append(out, jobFromLib(j, hint))
		}
	}
	return out, nil
}

func (c *client) ListPipelineBridges(ctx context.Context, project string, pipelineID int64) ([]Job, error) {
	pid, hint, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	listOpts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: perPage}}
	bridges, err := allPages(ctx, c, epBridges, func(opts ...gl.RequestOptionFunc) ([]*gl.Bridge, *gl.Response, error) {
		return c.gl.Jobs.ListPipelineBridges(pid, pipelineID, listOpts, opts...)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(bridges))
	for _, b := range bridges {
		if b != nil {
			out = append(out, bridgeFromLib(b, hint))
		}
	}
	return out, nil
}

// allPages reads every page of an offset-paginated list (X-Next-Page),
// each page one call with its own retries and error.
func allPages[T any](ctx context.Context, c *client, endpoint string,
	fetch func(opts ...gl.RequestOptionFunc) ([]T, *gl.Response, error)) ([]T, error) {
	var out []T
	var next []gl.RequestOptionFunc
	for page := int64(1); ; {
		callCtx, info := startCall(ctx, http.MethodGet, endpoint)
		items, resp, err := fetch(append(next, gl.WithContext(callCtx))...)
		if err != nil {
			return nil, c.fail(err, info)
		}
		out = append(out, items...)
		// A next page that does not move forward would loop forever.
		if resp == nil || resp.NextPage <= page {
			return out, nil
		}
		page = resp.NextPage
		next = []gl.RequestOptionFunc{gl.WithOffsetPaginationParameters(page)}
	}
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
	var next []gl.RequestOptionFunc
	seen := map[string]bool{}
	for {
		callCtx, info := startCall(ctx, http.MethodGet, epProjectJobs)
		jobs, resp, err := c.gl.Jobs.ListProjectJobs(pid, opts, append(next, gl.WithContext(callCtx))...)
		if err != nil {
			return c.fail(err, info)
		}
		for _, j := range jobs {
			if j == nil {
				continue
			}
			if !visit(jobFromLib(j, hint)) {
				return nil
			}
		}
		if resp == nil || resp.NextLink == "" || seen[resp.NextLink] {
			return nil
		}
		seen[resp.NextLink] = true
		next = []gl.RequestOptionFunc{gl.WithKeysetPaginationParameters(resp.NextLink)}
	}
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
