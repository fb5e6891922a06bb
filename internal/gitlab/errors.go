package gitlab

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class is what kind of failure an error is. Controllers branch on it, never
// on message strings; it is decided once, here.
type Class string

const (
	// Unauthorized: 401, the token is missing, unknown, expired, or a job
	// token whose job is no longer running.
	Unauthorized Class = "Unauthorized"
	// Forbidden: 403 for any reason other than the action rules below.
	Forbidden Class = "Forbidden"
	// NotFound: 404 "Not found", the job or pipeline id does not exist.
	NotFound Class = "NotFound"
	// ProjectNotFound: 404 "Project Not Found", the project does not exist
	// or the token cannot see it.
	ProjectNotFound Class = "ProjectNotFound"
	// JobNotFoundForToken: 404 "Job Not Found" from GET /job, the token is
	// not a job token.
	JobNotFoundForToken Class = "JobNotFoundForToken"
	// NotRetryable: 403 "Job is not retryable".
	NotRetryable Class = "NotRetryable"
	// Unplayable: 400 "Unplayable Job".
	Unplayable Class = "Unplayable"
	// NotErasable: 403 "Job is not erasable!".
	NotErasable Class = "NotErasable"
	// BadRequest: any other 4xx refusal (400 validation, 405, 409, 422...).
	BadRequest Class = "BadRequest"
	// RateLimited: 429; RetryAfter says how long GitLab asked to wait.
	RateLimited Class = "RateLimited"
	// Transient: 5xx, timeouts, reset connections, lost or unreadable
	// responses. For a POST the action may or may not have happened: ask
	// GitLab before calling again.
	Transient Class = "Transient"
	// Unreachable: the host name does not resolve or nothing listens.
	// Nothing was sent.
	Unreachable Class = "Unreachable"
	// TLSError: the server's certificate could not be verified.
	TLSError Class = "TLSError"
	// InvalidConfig: the Config cannot work (bad URL, CA bundle without a
	// certificate, empty project).
	InvalidConfig Class = "InvalidConfig"
	// Unknown: an error that did not come from this package.
	Unknown Class = "Unknown"
)

// DefaultRetryAfter is the RetryAfter of a 429 that did not say how long to
// wait (GitLab's per-endpoint limits send no header).
const DefaultRetryAfter = 10 * time.Second

// Error is every error this package returns from a GitLab call.
type Error struct {
	// Class is the classification controllers branch on.
	Class Class
	// StatusCode is the HTTP status of the last attempt; 0 when no response
	// arrived.
	StatusCode int
	// Method and Endpoint name the call by its route template
	// (/api/v4/projects/:id/jobs/:job_id/retry), never by its full URL.
	Method, Endpoint string
	// Message is GitLab's message ("403 Forbidden - Job is not retryable"),
	// or the network error's, with any token removed.
	Message string
	// RetryAfter is how long the server asked to wait (Retry-After or
	// RateLimit-Reset), or DefaultRetryAfter for a 429 that did not say.
	RetryAfter time.Duration

	cause error // for errors.Is (context.Canceled...); its text is never shown
}

// Error reads "gitlab METHOD /route/template: Class (HTTP n): message": it
// names the call by its template and never holds a token or query string.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gitlab")
	if e.Method != "" {
		b.WriteString(" " + e.Method + " " + e.Endpoint)
	}
	b.WriteString(": " + string(e.Class))
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap exposes the underlying cause, so errors.Is(err, context.Canceled)
// works.
func (e *Error) Unwrap() error { return e.cause }

// ClassOf returns the class of err: "" for nil, Unknown for an error that
// did not come from this package.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Unknown
}

// RetryAfter is how long the server asked to wait before the next request,
// or 0 when it did not say.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// IsTerminal reports whether err is a refusal that asking again will not
// change (bad credentials, missing job, job in the wrong state, invalid
// config). Rate limits, 5xx, network and TLS errors are not terminal: they
// can go away without anyone changing the request.
func IsTerminal(err error) bool {
	switch ClassOf(err) {
	case Unauthorized, Forbidden, NotFound, ProjectNotFound, JobNotFoundForToken,
		NotRetryable, Unplayable, NotErasable, BadRequest, InvalidConfig:
		return true
	}
	return false
}

func configError(msg string) error {
	return &Error{Class: InvalidConfig, Message: msg}
}
