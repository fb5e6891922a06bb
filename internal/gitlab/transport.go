package gitlab

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// maxErrorBody bounds how much of an error response is read to find
// GitLab's message: GitLab's error bodies are small, a misbehaving proxy's
// may not be, and the library reads an error body whole into memory.
const maxErrorBody = 64 << 10

// newHTTPClient builds the one http.Client of a connection: its TLS
// settings, its rate limiter and its metrics. Job-token clients of the same
// connection share it.
func newHTTPClient(cfg Config) (*http.Client, error) {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		base = &http.Transport{}
	}
	tr := base.Clone()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.CABundle) > 0 {
		// Appended to the system roots, not instead of them: an instance
		// behind a public CA keeps working when a private CA is added.
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(cfg.CABundle) {
			return nil, configError("caBundle holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	// Only when the user explicitly set insecureSkipTLSVerify.
	tlsCfg.InsecureSkipVerify = cfg.InsecureSkipTLSVerify //nolint:gosec // opt-in, documented on the API field
	tr.TLSClientConfig = tlsCfg
	// The default of 2 idle connections per host makes a busy operator
	// (hundreds of actions a second on one instance) open and close a
	// connection for most requests.
	tr.MaxIdleConnsPerHost = 32

	return &http.Client{
		Transport: &transport{next: tr, limiter: newLimiter(cfg), connection: cfg.Connection},
		Timeout:   cfg.timeout(),
		// Never follow a redirect: Go would resend a POST on 307/308 (a
		// second action) and would forward the PRIVATE-TOKEN header to
		// wherever it points. A redirect means the URL is wrong; say so.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

func newLimiter(cfg Config) *rate.Limiter {
	if cfg.RequestsPerSecond <= 0 || math.IsInf(cfg.RequestsPerSecond, 1) {
		return rate.NewLimiter(rate.Inf, 1)
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(cfg.RequestsPerSecond)))
	}
	return rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), burst)
}

// transport wraps the connection's http.Transport. It sees every attempt,
// retries included, which is where rate limiting, counting and metrics
// belong (the library's own limiter waits once per call, not per attempt).
type transport struct {
	next       http.RoundTripper
	limiter    *rate.Limiter
	connection string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	info := callFrom(ctx)
	endpoint := epOther
	if info != nil {
		endpoint = info.endpoint
		info.beginAttempt()
	}
	waitStart := time.Now()
	if err := t.limiter.Wait(ctx); err != nil {
		closeBody(req)
		return nil, err
	}
	limiterWait.WithLabelValues(t.connection).Observe(time.Since(waitStart).Seconds())
	countRequest(ctx)

	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	requestDuration.WithLabelValues(t.connection, endpoint, req.Method).Observe(time.Since(start).Seconds())
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	requestsTotal.WithLabelValues(t.connection, endpoint, req.Method, code).Inc()
	if err != nil {
		return nil, err
	}

	if resp.StatusCode >= 300 {
		resp.Body = limitBody(resp.Body, maxErrorBody)
	}
	if info != nil {
		var notFoundBody []byte
		if resp.StatusCode == http.StatusNotFound {
			// The library discards a 404's body (see callInfo): keep it
			// for classification, and hand on an equal copy.
			notFoundBody, _ = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(notFoundBody))
		}
		info.record(resp.StatusCode, notFoundBody)
	}
	return resp, nil
}

// limitBody reads at most n bytes of body, and closes body.
func limitBody(body io.ReadCloser, n int64) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(body, n), body}
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// pooled connections when a connection is forgotten or rebuilt.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// closeBody honours the RoundTripper contract of closing the request body
// even when the request is not sent.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
