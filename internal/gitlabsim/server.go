package gitlabsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is a quiet simulator: no admin
// token, no rate limit, no lifecycle engine.
type Options struct {
	// BaseURL is the public URL clients use (for web_url and pagination
	// links), e.g. "http://127.0.0.1:8929". Empty: Start sets it to the
	// listening address; behind Handler() each request's Host is used.
	BaseURL string
	// AdminToken, when set, must be sent as X-Sim-Admin-Token to /-/sim.
	AdminToken string
	// JobsRateLimitPerMinute limits GET /projects/:id/jobs per user, as
	// GitLab does (its default is 600). Zero or less: no limit.
	JobsRateLimitPerMinute int
	// Lifecycle turns the lifecycle engine on when non-nil.
	Lifecycle *LifecycleOptions
	// Seed drives every random choice (flakiness, faults, generated SHAs),
	// so a run can be reproduced.
	Seed int64
	// CancelingDuration is how long a running job stays "canceling" after a
	// cancel before it becomes "canceled". Zero: at once, but still after the
	// cancel response (which shows canceling). Negative: it stays canceling
	// until told otherwise (SetJobStatus or a forced cancel).
	CancelingDuration time.Duration
	// Version is what GET /version reports, and webhooks' User-Agent
	// (GitLab/<version>); default "17.11.0".
	Version string
	// HookTimeout is how long a webhook receiver has to answer; default
	// 10s, GitLab.com's.
	HookTimeout time.Duration
}

// Server is the simulated GitLab. Create it with New, serve it with Start or
// Handler, and Close it when done. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	st      *store
	stats   *statsRecorder
	faults  faultInjector
	limiter *rateLimiter
	handler http.Handler
	engine  *engine
	sender  *hookSender

	mu      sync.Mutex // guards the fields below
	baseURL string
	httpSrv *http.Server
	closed  bool
}

// New makes a server with an empty world. When opts.Lifecycle is set the
// engine starts at once; Close stops it.
func New(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = "17.11.0"
	}
	if opts.HookTimeout <= 0 {
		opts.HookTimeout = 10 * time.Second
	}
	s := &Server{
		opts:    opts,
		st:      newStore(),
		stats:   newStatsRecorder(),
		limiter: newRateLimiter(opts.JobsRateLimitPerMinute),
		baseURL: strings.TrimRight(opts.BaseURL, "/"),
	}
	s.sender = newHookSender(s, opts.HookTimeout)
	s.st.sink = s.sender
	s.handler = s.routes()
	if opts.Lifecycle != nil {
		s.st.processing = true
		s.engine = newEngine(s, *opts.Lifecycle)
		s.engine.start()
	}
	return s
}

// Handler returns the HTTP handler serving /api/v4 and /-/sim, for
// httptest.NewServer or an existing server.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the
// background. It returns the base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.closed || s.httpSrv != nil {
		s.mu.Unlock()
		_ = ln.Close()
		return "", errors.New("gitlabsim: server already started or closed")
	}
	s.httpSrv = srv
	url := "http://" + ln.Addr().String()
	if s.baseURL == "" {
		s.baseURL = url
	}
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return url, nil
}

// URL is the base URL clients should use ("" before Start when no BaseURL
// was given).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// SetBaseURL sets the public URL after the fact, e.g. to an
// httptest.Server's URL when serving through Handler.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// Close stops the engine and the listener, letting requests in flight finish
// for up to a second.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.httpSrv
	s.mu.Unlock()
	if s.engine != nil {
		s.engine.stop()
	}
	s.sender.close()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return srv.Close()
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// base is the public URL for links in a response to r.
func (s *Server) base(r *http.Request) string {
	s.mu.Lock()
	b := s.baseURL
	s.mu.Unlock()
	if b != "" {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) renderer(r *http.Request) *renderer {
	return newRenderer(s.base(r), time.Now().UTC())
}

// plainRenderer renders outside a request (Go API, admin), with the configured
// base URL or a placeholder.
func (s *Server) plainRenderer() *renderer {
	b := s.URL()
	if b == "" {
		b = "http://gitlab.sim"
	}
	return newRenderer(b, time.Now().UTC())
}
