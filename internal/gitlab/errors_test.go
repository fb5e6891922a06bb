package gitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every row of the error table in docs/gitlab-api.md, on the endpoint that
// answers it, classified once.
func TestErrorTableOfJobsAPIIsClassified(t *testing.T) {
	type call func(Client) error
	getJob := func(c Client) error { _, err := c.GetJob(context.Background(), "group/app", 42); return err }
	retry := func(c Client) error { _, err := c.RetryJob(context.Background(), "group/app", 42); return err }
	erase := func(c Client) error { _, err := c.EraseJob(context.Background(), "group/app", 42); return err }
	play := func(c Client) error {
		_, err := c.PlayJob(context.Background(), "group/app", 42, []Variable{{Key: "K"}})
		return err
	}
	list := func(c Client) error {
		return c.ListProjectJobs(context.Background(), "group/app", []string{"bogus"}, func(Job) bool { return true })
	}
	tests := []struct {
		name     string
		call     call
		status   int
		body     string
		header   map[string]string
		want     Class
		message  string
		terminal bool
	}{
		{"no or unknown credentials", getJob, 401, `{"message":"401 Unauthorized"}`, nil, Unauthorized, "401 Unauthorized", true},
		{"forbidden with reason", getJob, 403, `{"message":"403 Forbidden - You are not allowed"}`, nil, Forbidden, "403 Forbidden - You are not allowed", true},
		{"forbidden, no reason", getJob, 403, `{"message":"403 Forbidden"}`, nil, Forbidden, "403 Forbidden", true},
		{"job not retryable", retry, 403, `{"message":"403 Forbidden - Job is not retryable"}`, nil, NotRetryable, "403 Forbidden - Job is not retryable", true},
		{"job not erasable", erase, 403, `{"message":"403 Forbidden - Job is not erasable!"}`, nil, NotErasable, "403 Forbidden - Job is not erasable!", true},
		{"unplayable", play, 400, `{"message":"400 Bad request - Unplayable Job"}`, nil, Unplayable, "400 Bad request - Unplayable Job", true},
		{"bad request with reason", retry, 400, `{"message":"400 Bad request - something else"}`, nil, BadRequest, "400 Bad request - something else", true},
		{"parameter missing", play, 400, `{"error":"job_variables_attributes[0][value] is missing"}`, nil, BadRequest, "job_variables_attributes[0][value] is missing", true},
		{"parameter invalid value", list, 400, `{"error":"scope does not have a valid value"}`, nil, BadRequest, "scope does not have a valid value", true},
		{"parameter invalid", list, 400, `{"error":"scope is invalid"}`, nil, BadRequest, "scope is invalid", true},
		{"project not found", getJob, 404, `{"message":"404 Project Not Found"}`, nil, ProjectNotFound, "404 Project Not Found", true},
		{"job not found", getJob, 404, `{"message":"404 Not found"}`, nil, NotFound, "404 Not found", true},
		{"keyset not available", list, 405, `{"error":"Keyset pagination is not yet available for this type of request"}`, nil, BadRequest, "Keyset pagination is not yet available for this type of request", true},
		{"rate limited jobs list", list, 429, `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`, nil, RateLimited, "This endpoint has been requested too many times. Try again later.", false},
		{"rate limited globally", getJob, 429, "Retry later\n", map[string]string{"Retry-After": "60", "RateLimit-Limit": "600", "RateLimit-Remaining": "0"}, RateLimited, "Retry later", false},
		{"server error", getJob, 500, `{"message":"500 Internal Server Error"}`, nil, Transient, "500 Internal Server Error", false},
		{"bad gateway from a proxy", retry, 502, "<html>Bad Gateway</html>", nil, Transient, "<html>Bad Gateway</html>", false},
		{"redirect", getJob, 301, "", map[string]string{"Location": "https://elsewhere/"}, InvalidConfig, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("/", func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			err := tt.call(f.client(t))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %#v, want *Error", err)
			}
			if e.Class != tt.want || ClassOf(err) != tt.want {
				t.Fatalf("class = %q, want %q (%v)", e.Class, tt.want, err)
			}
			if e.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", e.StatusCode, tt.status)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Fatalf("message = %q, want %q", e.Message, tt.message)
			}
			if IsTerminal(err) != tt.terminal {
				t.Fatalf("IsTerminal = %v, want %v", IsTerminal(err), tt.terminal)
			}
			if e.Endpoint == "" || strings.Contains(e.Error(), "group") || strings.Contains(e.Error(), "/42") {
				t.Fatalf("error names the call by template, not by path: %q", e.Error())
			}
			if tt.want == RateLimited && RetryAfter(err) <= 0 {
				t.Fatalf("RateLimited without RetryAfter: %v", err)
			}
		})
	}
}

func TestJobNotFoundForTokenFromGetJob(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/job", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, 404, "404 Job Not Found")
	})
	jc, err := testClients().JobTokenClient(f.config(t), "personal-not-job")
	if err != nil {
		t.Fatal(err)
	}
	_, err = jc.CurrentJob(context.Background())
	if ClassOf(err) != JobNotFoundForToken || !IsTerminal(err) {
		t.Fatalf("err = %v, want terminal JobNotFoundForToken", err)
	}
}

func TestTokenNeverAppearsInErrors(t *testing.T) {
	f := newFake(t)
	// A hostile or buggy server that echoes the credentials back.
	f.handle("/", func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, 401, "401 Unauthorized: bad token "+r.Header.Get("Private-Token")+r.Header.Get("Job-Token"))
	})
	cs := testClients()
	c, err := cs.Get(f.config(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(context.Background())
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Fatalf("error leaks the token: %v", err)
	}
	jc, err := cs.JobTokenClient(f.config(t), "JOBTOKEN-secret-123")
	if err != nil {
		t.Fatal(err)
	}
	_, err = jc.AllowedAgents(context.Background())
	if err == nil || strings.Contains(err.Error(), "JOBTOKEN-secret-123") {
		t.Fatalf("error leaks the job token: %v", err)
	}
}

func TestNetworkErrorsAreClassified(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	cs := testClients()
	c, err := cs.Get(Config{Connection: "ns/refused", URL: "http://" + addr, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(context.Background())
	if ClassOf(err) != Unreachable || IsTerminal(err) {
		t.Fatalf("connection refused: err = %v, want non-terminal Unreachable", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatal("token in error")
	}

	c, err = cs.Get(Config{Connection: "ns/nxdomain", URL: "http://no-such-host.invalid", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	// Whatever the sandbox's resolver does (NXDOMAIN, refused, no
	// server), a name that cannot resolve is Unreachable.
	if _, err = c.CurrentUser(context.Background()); ClassOf(err) != Unreachable {
		t.Fatalf("unknown host: err = %v, want Unreachable", err)
	}
}

func TestTransportErrorsClassAndRetry(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class Class
		retry bool // for a GET
	}{
		{"nxdomain", &url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, Unreachable, false},
		{"dns server failure", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, Unreachable, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, Unreachable, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, Transient, true},
		{"lost response", io.ErrUnexpectedEOF, Transient, true},
		{"eof", io.EOF, Transient, true},
		{"timeout", &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}, Transient, true},
		{"unknown authority", &url.Error{Op: "Get", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, TLSError, false},
		{"hostname mismatch", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}, TLSError, false},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, TLSError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyTransport(tt.err); got != tt.class {
				t.Fatalf("class = %q, want %q", got, tt.class)
			}
			if got, _ := defaultRetryPolicy.shouldRetryRead(nil, tt.err); got != tt.retry {
				t.Fatalf("retry = %v, want %v", got, tt.retry)
			}
		})
	}
}

func TestTransportMessageDropsTheURL(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "https://gitlab/api/v4/projects/7/jobs?cursor=abc&private_token=" + testToken, Err: io.EOF}
	if got := transportMessage(err); got != "EOF" {
		t.Fatalf("message = %q", got)
	}
}

func TestInvalidConfigIsRefusedBeforeAnyRequest(t *testing.T) {
	good := Config{Connection: "ns/c", URL: "https://gitlab.example.com", Token: "t"}
	tests := map[string]func(*Config){
		"no connection":  func(c *Config) { c.Connection = "" },
		"no url":         func(c *Config) { c.URL = "" },
		"no scheme":      func(c *Config) { c.URL = "gitlab.example.com" },
		"ftp":            func(c *Config) { c.URL = "ftp://gitlab.example.com" },
		"query":          func(c *Config) { c.URL = "https://gitlab.example.com/?private_token=x" },
		"token type":     func(c *Config) { c.TokenType = "Basic" },
		"ca without pem": func(c *Config) { c.CABundle = []byte("not a certificate") },
		"negative burst": func(c *Config) { c.Burst = -1 },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := good
			mod(&cfg)
			_, err := NewClients().Get(cfg)
			if ClassOf(err) != InvalidConfig || !IsTerminal(err) {
				t.Fatalf("err = %v, want InvalidConfig", err)
			}
		})
	}
	c, err := NewClients().Get(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetJob(context.Background(), " ", 1); ClassOf(err) != InvalidConfig {
		t.Fatalf("empty project: %v", err)
	}
}

func TestClassOfAndRetryAfterOnForeignErrors(t *testing.T) {
	if ClassOf(nil) != "" || ClassOf(errors.New("x")) != Unknown {
		t.Fatal("ClassOf of nil or foreign error")
	}
	if RetryAfter(errors.New("x")) != 0 || IsTerminal(errors.New("x")) {
		t.Fatal("foreign errors carry no wait and are not terminal")
	}
	wrapped := errors.Join(errors.New("context"), &Error{Class: RateLimited, RetryAfter: 3 * time.Second})
	if ClassOf(wrapped) != RateLimited || RetryAfter(wrapped) != 3*time.Second {
		t.Fatal("wrapped *Error not found")
	}
}

func TestParseMessage(t *testing.T) {
	tests := map[string]string{
		`{"message":"403 Forbidden - Job is not retryable"}`:                                        "403 Forbidden - Job is not retryable",
		`{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`: "This endpoint has been requested too many times. Try again later.",
		`{"message":{"name":["is too long","is invalid"]}}`:                                         "name is too long, is invalid",
		`{"error":"scope is invalid"}`:                                                              "scope is invalid",
		"plain\ntext  body":                                                                         "plain text body",
		"":                                                                                          "",
		strings.Repeat("x", 2000):                                                                   strings.Repeat("x", maxMessage) + "...",
	}
	for body, want := range tests {
		if got := parseMessage([]byte(body)); got != want {
			t.Errorf("parseMessage(%.40q) = %q, want %q", body, got, want)
		}
	}
}

func TestCanceledCallKeepsContextCanceledReachable(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/user", userHandler)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t).CurrentUser(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want errors.Is context.Canceled", err)
	}
	if ClassOf(err) != Transient {
		t.Fatalf("class = %q", ClassOf(err))
	}
}
