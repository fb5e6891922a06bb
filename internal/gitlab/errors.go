package gitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
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

// classifyStatus maps an HTTP error status and GitLab's message to a class,
// following the error table of docs/jobs-api.md.
func classifyStatus(status int, message string) Class {
	m := strings.ToLower(message)
	switch {
	case status == http.StatusUnauthorized:
		return Unauthorized
	case status == http.StatusForbidden:
		switch {
		case strings.Contains(m, "job is not retryable"):
			return NotRetryable
		case strings.Contains(m, "job is not erasable"):
			return NotErasable
		}
		return Forbidden
	case status == http.StatusNotFound:
		switch {
		case strings.Contains(m, "project not found"):
			return ProjectNotFound
		case strings.Contains(m, "job not found"):
			return JobNotFoundForToken
		}
		return NotFound
	case status == http.StatusBadRequest:
		if strings.Contains(m, "unplayable job") {
			return Unplayable
		}
		return BadRequest
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status >= 500 || status == 0:
		return Transient
	case status >= 400:
		return BadRequest
	case status >= 300:
		// Redirects are not followed (see newHTTPClient): the URL points
		// at the wrong place (http for https, a moved instance).
		return InvalidConfig
	}
	// A 1xx or unexpected 2xx the library treated as an error: not an
	// answer we understand, so ask again later.
	return Transient
}

// isNameNotFound reports a DNS answer that the host does not exist, which
// retrying will not change.
func isNameNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// classifyTransport classifies an error that came without an HTTP response.
func classifyTransport(err error) Class {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		dnsErr           *net.DNSError
		opErr            *net.OpError
		netErr           net.Error
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Transient
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verification), errors.As(err, &recordHeader):
		return TLSError
	case errors.As(err, &dnsErr):
		return Unreachable
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable
	case errors.As(err, &opErr) && opErr.Op == "dial" && !opErr.Timeout():
		return Unreachable
	case errors.As(err, &netErr) && netErr.Timeout():
		return Transient
	}
	// EOF, connection reset, a body cut short, JSON that does not decode:
	// the request may have been acted on, the answer was lost.
	return Transient
}

// newError turns what a library call returned into an *Error. info is the
// per-call record the transport filled in; secret is removed from every
// message.
func newError(err error, info *callInfo, secret string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Method: info.method, Endpoint: info.endpoint}
	last := info.snapshot()

	var resp *gl.ErrorResponse
	switch {
	case errors.As(err, &resp) && (resp.StatusCode != 0 || last.status != 0):
		e.StatusCode = resp.StatusCode
		if last.status != 0 {
			// The library's 404 carries no body; the transport kept it.
			e.StatusCode = last.status
		}
		e.Message = last.message
		if e.Message == "" {
			e.Message = resp.Message
		}
		e.Class = classifyStatus(e.StatusCode, e.Message)
		if e.Class == InvalidConfig {
			e.Message = "GitLab answered with a redirect: set the connection URL to the address it points to"
		}
		e.RetryAfter = last.retryAfter
		if e.Class == RateLimited && e.RetryAfter <= 0 {
			e.RetryAfter = DefaultRetryAfter
		}
	default:
		e.Class = classifyTransport(err)
		// Keep the cause for errors.Is, minus url.Error's URL (and its
		// query string), so even an unwrapped cause names no cursor.
		e.cause = withoutURL(err)
		e.Message = transportMessage(err)
		if last.status != 0 && e.Class == Transient {
			// The headers arrived but the body did not decode or was cut.
			e.StatusCode = last.status
		}
	}
	e.Message = redact(e.Message, secret)
	return e
}

// transportMessage is the error text without the request URL, which
// url.Error would repeat with its query string.
func transportMessage(err error) string {
	return withoutURL(err).Error()
}

func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

func redact(s, secret string) string {
	if secret == "" || s == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// maxMessage bounds a message kept from an error body: it ends up in
// conditions and events.
const maxMessage = 512

// parseMessage extracts GitLab's message from an error body:
// {"message":"..."}, {"message":{"error":"..."}}, {"message":{"field":["..."]}},
// {"error":"..."}, or plain text from a proxy.
func parseMessage(body []byte) string {
	body = []byte(strings.TrimSpace(string(body)))
	if len(body) == 0 {
		return ""
	}
	var doc struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	var msg string
	if err := json.Unmarshal(body, &doc); err == nil && (doc.Message != nil || doc.Error != nil) {
		if doc.Message != nil {
			msg = flatten(doc.Message)
		}
		if msg == "" && doc.Error != nil {
			msg = flatten(doc.Error)
		}
	} else {
		msg = string(body)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "..."
	}
	return msg
}

// flatten renders a JSON message of any shape as one line.
func flatten(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch t := v.(type) {
		case string:
			return t
		case []any:
			parts := make([]string, 0, len(t))
			for _, x := range t {
				parts = append(parts, walk(x))
			}
			return strings.Join(parts, ", ")
		case map[string]any:
			// {"error": "..."} is GitLab's wrapper for a sentence: show it
			// bare. Other keys are field names.
			if s, ok := t["error"].(string); ok && len(t) == 1 {
				return s
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, k+" "+walk(t[k]))
			}
			return strings.Join(parts, "; ")
		case nil:
			return ""
		default:
			return fmt.Sprint(t)
		}
	}
	return walk(v)
}
