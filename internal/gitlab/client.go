package gitlab

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// Client is what the controllers use for one GitLabConnection. Every call
// takes a context (cancellation, logger, RequestCounter) and returns an
// *Error on failure. Mutating calls (Retry, Play, Cancel, Erase) send their
// request at most once.
type Client interface {
	// CurrentUser returns the token's user (GET /user): the connection
	// check.
	CurrentUser(ctx context.Context) (*User, error)
	// GetJob returns one job (builds only; a bridge id is NotFound).
	GetJob(ctx context.Context, project string, jobID int64) (*Job, error)
	// ListPipelineJobs returns all builds of a pipeline, newest first,
	// reading every page (100 a page); includeRetried adds older attempts.
	ListPipelineJobs(ctx context.Context, project string, pipelineID int64, includeRetried bool) ([]Job, error)
	// ListPipelineBridges returns all trigger jobs of a pipeline.
	ListPipelineBridges(ctx context.Context, project string, pipelineID int64) ([]Job, error)
	// ListProjectJobs walks the project's builds newest first with keyset
	// pagination (100 a page), calling visit for each; it stops as soon as
	// visit returns false, and no further page is fetched. scopes filters
	// by status; none means all.
	ListProjectJobs(ctx context.Context, project string, scopes []string, visit func(Job) bool) error
	// ListPipelinesUpdatedSince returns one page (PipelinesPerPage) of the
	// project's pipelines, least recently updated first, among those last
	// updated at or after since (zero: all); children lists the child
	// pipelines instead, which GitLab lists apart.
	ListPipelinesUpdatedSince(ctx context.Context, project string, since time.Time, children bool) ([]Pipeline, error)
	// RetryJob retries a finished job and returns the NEW job.
	RetryJob(ctx context.Context, project string, jobID int64) (*Job, error)
	// PlayJob starts a manual job with optional variables.
	PlayJob(ctx context.Context, project string, jobID int64, vars []Variable) (*Job, error)
	// CancelJob cancels a job. GitLab answers with the job unchanged, and
	// no error, when it cannot be canceled: check the returned Status.
	// force asks GitLab to skip the canceling state.
	CancelJob(ctx context.Context, project string, jobID int64, force bool) (*Job, error)
	// EraseJob erases a finished job's log and artifacts.
	EraseJob(ctx context.Context, project string, jobID int64) (*Job, error)
	// TraceTail streams the job log and returns only its last maxBytes,
	// with memory bounded by maxBytes whatever the log's size.
	TraceTail(ctx context.Context, project string, jobID int64, maxBytes int) ([]byte, error)
}

// client implements Client over the library.
type client struct {
	gl     *gl.Client
	secret string // removed from error messages
}

var _ Client = (*client)(nil)

// newClient builds a Client for cfg over the given http.Client.
func newClient(cfg Config, hc *http.Client, policy retryPolicy) (*client, error) {
	var auth gl.AuthSource
	switch cfg.tokenType() {
	case OAuth:
		auth = gl.OAuthTokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cfg.Token})}
	default:
		auth = gl.AccessTokenAuthSource{Token: cfg.Token}
	}
	g, err := newLibraryClient(auth, cfg.URL, hc, policy)
	if err != nil {
		return nil, err
	}
	return &client{gl: g, secret: cfg.Token}, nil
}

// newLibraryClient configures the library the same way for every token
// kind: our http.Client, our retry policy, no library limiter, no library
// logging.
func newLibraryClient(auth gl.AuthSource, baseURL string, hc *http.Client, policy retryPolicy) (*gl.Client, error) {
	g, err := gl.NewAuthSourceClient(auth,
		gl.WithBaseURL(baseURL),
		gl.WithHTTPClient(hc),
		gl.WithCustomRetry(policy.checkRetry),
		gl.WithCustomBackoff(policy.backoff),
		gl.WithCustomRetryMax(policy.maxRetries),
		// Our limiter lives in the transport and waits per attempt. An
		// unlimited one here also stops the library from building its own
		// from the first response's RateLimit-Limit header.
		gl.WithCustomLimiter(rate.NewLimiter(rate.Inf, 1)),
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
		gl.WithUserAgent("gitlab-job-operator"),
	)
	if err != nil {
		return nil, configError("cannot build the GitLab client: " + redact(err.Error(), tokenOf(auth)))
	}
	return g, nil
}

func tokenOf(auth gl.AuthSource) string {
	switch a := auth.(type) {
	case gl.AccessTokenAuthSource:
		return a.Token
	case gl.JobTokenAuthSource:
		return a.Token
	}
	return ""
}

// fail turns a library error into an *Error for this call.
func (c *client) fail(err error, info *callInfo) error {
	return newError(err, info, c.secret)
}

// emptyAnswer is a 2xx without the object it should carry: treated like a
// lost response.
func emptyAnswer(info *callInfo) error {
	last := info.snapshot()
	return &Error{Class: Transient, StatusCode: last.status, Method: info.method, Endpoint: info.endpoint,
		Message: "empty response"}
}
