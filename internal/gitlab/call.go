package gitlab

import (
	"context"
	"sync"
)

// Route templates: the "endpoint" label of the metrics and the name of a
// call in errors. Never a raw id, path or query string (unbounded label
// values, and a project path is not ours to publish).
const (
	epUser          = "/api/v4/user"
	epJob           = "/api/v4/projects/:id/jobs/:job_id"
	epProjectJobs   = "/api/v4/projects/:id/jobs"
	epPipelines     = "/api/v4/projects/:id/pipelines"
	epPipelineJobs  = "/api/v4/projects/:id/pipelines/:pipeline_id/jobs"
	epBridges       = "/api/v4/projects/:id/pipelines/:pipeline_id/bridges"
	epRetry         = "/api/v4/projects/:id/jobs/:job_id/retry"
	epPlay          = "/api/v4/projects/:id/jobs/:job_id/play"
	epCancel        = "/api/v4/projects/:id/jobs/:job_id/cancel"
	epErase         = "/api/v4/projects/:id/jobs/:job_id/erase"
	epTrace         = "/api/v4/projects/:id/jobs/:job_id/trace"
	epTokenJob      = "/api/v4/job"
	epAllowedAgents = "/api/v4/job/allowed_agents"
	// epOther labels a request made without a template (should not happen).
	epOther = "other"
)

// callInfo travels in the request context of one API call (all its
// attempts). The caller sets the route template; the transport records what
// the last attempt answered that the library's error does not carry: the
// status of a 2xx whose body then failed to decode, and the body of a 404,
// which the library replaces with its shared ErrNotFound although GitLab's
// message there is what tells a missing project from a missing job.
type callInfo struct {
	method   string
	endpoint string

	mu   sync.Mutex
	last attemptResult
}

type attemptResult struct {
	attempts int
	status   int
	// notFoundBody is the (bounded) body of a 404 answer.
	notFoundBody []byte
}

type callKey struct{}

// startCall returns a context carrying a fresh callInfo for one API call.
func startCall(ctx context.Context, method, endpoint string) (context.Context, *callInfo) {
	info := &callInfo{method: method, endpoint: endpoint}
	return context.WithValue(ctx, callKey{}, info), info
}

func callFrom(ctx context.Context) *callInfo {
	info, _ := ctx.Value(callKey{}).(*callInfo)
	return info
}

// beginAttempt forgets the previous attempt's answer, so a transport error
// after an earlier 502 is not reported as the 502.
func (c *callInfo) beginAttempt() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = attemptResult{attempts: c.last.attempts + 1}
	return c.last.attempts
}

func (c *callInfo) record(status int, notFoundBody []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last.status = status
	c.last.notFoundBody = notFoundBody
}

func (c *callInfo) snapshot() attemptResult {
	if c == nil {
		return attemptResult{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
