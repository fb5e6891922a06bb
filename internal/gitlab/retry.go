package gitlab

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// retryPolicy decides which failed attempts are tried again and how long to
// wait first. It replaces the library's policy, which resends a POST on 5xx
// and ignores Retry-After.
type retryPolicy struct {
	// maxRetries bounds the retries of one call (attempts = maxRetries+1).
	maxRetries int
	// baseBackoff is the first wait when the server does not say; it
	// doubles each retry, up to maxBackoff, with jitter.
	baseBackoff, maxBackoff time.Duration
	// maxServerWait caps how long a call sleeps because the server asked
	// to: beyond it the call fails fast with the wait in the error, and the
	// controller requeues instead of holding a worker.
	maxServerWait time.Duration
}

var defaultRetryPolicy = retryPolicy{
	maxRetries:    3,
	baseBackoff:   500 * time.Millisecond,
	maxBackoff:    8 * time.Second,
	maxServerWait: 30 * time.Second,
}

// checkRetry is the library's CheckRetry hook (retryablehttp.CheckRetry).
func (p retryPolicy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	info := callFrom(ctx)
	method := ""
	if resp != nil && resp.Request != nil {
		method = resp.Request.Method
	} else if info != nil {
		method = info.method
	}
	// Only reads are repeated. A POST that failed in any way (5xx, 429,
	// timeout, reset) may have been acted on, and repeating a retry or a
	// play makes a second job: the controller asks GitLab what happened
	// instead. An unknown method is treated like a POST.
	if method != http.MethodGet && method != http.MethodHead {
		return false, nil
	}

	retry, why := p.shouldRetryRead(resp, err)
	if retry {
		attempt := 0
		endpoint := epOther
		if info != nil {
			attempt = info.snapshot().attempts
			endpoint = info.endpoint
		}
		// Only the caller's logger (no global fallback), at V(1), and never
		// headers or the URL: they may carry a token or a cursor.
		logr.FromContextOrDiscard(ctx).V(1).Info("Retrying GitLab request",
			"method", method, "endpoint", endpoint, "attempt", attempt, "reason", why)
	}
	return retry, nil
}

func (p retryPolicy) shouldRetryRead(resp *http.Response, err error) (bool, string) {
	if err != nil {
		switch classifyTransport(err) {
		case TLSError:
			return false, "" // the certificate will not change in a second
		case Unreachable:
			if isNameNotFound(err) {
				return false, ""
			}
		}
		return true, transportMessage(err)
	}
	status := resp.StatusCode
	if status != http.StatusTooManyRequests && status != 0 && (status < 500 || status == http.StatusNotImplemented) {
		return false, ""
	}
	if wait := serverWait(resp.Header, time.Now()); wait > p.maxServerWait {
		return false, "" // handed back to the caller as RetryAfter
	}
	return true, "HTTP " + strconv.Itoa(status)
}

// backoff is the library's Backoff hook (retryablehttp.Backoff); min and max
// are the library's defaults and are ignored.
func (p retryPolicy) backoff(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if wait := serverWait(resp.Header, time.Now()); wait > 0 {
			// As asked, plus up to 10% so clients told the same instant
			// do not all return at once.
			return min(wait, p.maxServerWait) + time.Duration(rand.Int64N(int64(wait/10)+1))
		}
	}
	d := p.baseBackoff << min(attempt, 16)
	if d <= 0 || d > p.maxBackoff {
		d = p.maxBackoff
	}
	// Jitter in [d/2, d].
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// serverWait is how long the response asks the client to wait: Retry-After
// (seconds or an HTTP date), else RateLimit-Reset (GitLab sends a Unix time;
// small values are read as seconds, as in the IETF draft). Zero when neither
// is present or both are in the past.
func serverWait(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			return clampWait(time.Duration(secs) * time.Second)
		}
		if t, err := http.ParseTime(v); err == nil {
			return clampWait(t.Sub(now))
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > 1_000_000_000 {
				return clampWait(time.Unix(n, 0).Sub(now))
			}
			return clampWait(time.Duration(n) * time.Second)
		}
	}
	return 0
}

// clampWait keeps a wait positive and below a day, so a silly header cannot
// overflow a duration or stall a connection forever.
func clampWait(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > 24*time.Hour:
		return 24 * time.Hour
	}
	return d
}
