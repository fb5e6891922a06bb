package gitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// classifyStatus maps an HTTP error status and GitLab's message to a class,
// following the error table of docs/gitlab-api.md.
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
	case errors.As(err, &resp) && resp.StatusCode != 0:
		e.StatusCode = resp.StatusCode
		body := resp.Body
		if e.StatusCode == http.StatusNotFound && len(body) == 0 {
			body = last.notFoundBody // see callInfo
		}
		// GitLab's sentence from the body, not the library's Message: see
		// parseMessage.
		e.Message = parseMessage(body)
		if e.Message == "" {
			e.Message = resp.Message
		}
		e.Class = classifyStatus(e.StatusCode, e.Message)
		if e.Class == InvalidConfig {
			e.Message = "GitLab answered with a redirect: set the connection URL to the address it points to"
		}
		if resp.Response != nil {
			e.RetryAfter = serverWait(resp.Response.Header, time.Now())
		}
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
