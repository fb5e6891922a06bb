package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

func TestPOSTAnswered502IsSentExactlyOnce(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/{id}/jobs/{job}/retry", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, http.StatusBadGateway, "502 Bad Gateway")
	})
	_, err := f.client(t).RetryJob(context.Background(), "7", 42)
	if got := ClassOf(err); got != Transient {
		t.Fatalf("class = %q (%v), want Transient", got, err)
	}
	if n := f.count("POST /api/v4/projects/7/jobs/42/retry"); n != 1 {
		t.Fatalf("POST sent %d times, want exactly 1", n)
	}
}

func TestEveryMutatingCallIsSentOnceWhateverTheFailure(t *testing.T) {
	failures := map[string]http.HandlerFunc{
		"500": func(w http.ResponseWriter, _ *http.Request) { writeMessage(w, 500, "500 Internal Server Error") },
		"503 with short Retry-After": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			writeMessage(w, 503, "503 Service Unavailable")
		},
		"429 with short Retry-After": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			writeMessage(w, 429, "429 Too Many Requests")
		},
		"lost response": func(w http.ResponseWriter, _ *http.Request) {
			// The request was read (and acted on), the answer never comes.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		},
	}
	calls := map[string]func(Client) error{
		"retry": func(c Client) error { _, err := c.RetryJob(context.Background(), "7", 42); return err },
		"play": func(c Client) error {
			_, err := c.PlayJob(context.Background(), "7", 42, []Variable{{Key: "K", Value: "V"}})
			return err
		},
		"cancel": func(c Client) error { _, err := c.CancelJob(context.Background(), "7", 42, true); return err },
		"erase":  func(c Client) error { _, err := c.EraseJob(context.Background(), "7", 42); return err },
	}
	for fname, failure := range failures {
		for cname, call := range calls {
			t.Run(fname+"/"+cname, func(t *testing.T) {
				f := newFake(t)
				f.handle("GET /api/v4/user", func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, map[string]any{"id": 1, "username": "root"})
				})
				f.handle("POST /api/v4/projects/7/jobs/42/"+cname, failure)
				c := f.client(t)
				// A GET first, so the POST goes on a reused connection,
				// where net/http would resend a replayable request.
				if _, err := c.CurrentUser(context.Background()); err != nil {
					t.Fatal(err)
				}
				err := call(c)
				if err == nil {
					t.Fatal("want an error")
				}
				if n := f.count("POST /api/v4/projects/7/jobs/42/" + cname); n != 1 {
					t.Fatalf("POST sent %d times, want exactly 1 (err %v)", n, err)
				}
				if IsTerminal(err) {
					t.Fatalf("%v must not be terminal: the controller must check and may call again", err)
				}
			})
		}
	}
}

func TestGET502ThenOKIsRetried(t *testing.T) {
	f := newFake(t)
	n := 0
	f.handle("GET /api/v4/projects/7/jobs/42", func(w http.ResponseWriter, _ *http.Request) {
		n++
		if n == 1 {
			writeMessage(w, http.StatusBadGateway, "502 Bad Gateway")
			return
		}
		writeJSON(w, 200, jobDoc(42, "test", "failed"))
	})
	ctx, counter := WithRequestCounter(context.Background())
	job, err := f.client(t).GetJob(ctx, "7", 42)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID != 42 || job.FailureReason != "script_failure" {
		t.Fatalf("job = %+v", job)
	}
	if got := f.count("GET /api/v4/projects/7/jobs/42"); got != 2 {
		t.Fatalf("server saw %d requests, want 2", got)
	}
	if counter.Count() != 2 {
		t.Fatalf("request counter = %d, want 2 (each attempt)", counter.Count())
	}
}

func TestGETRetriesAreBounded(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/7/jobs/42", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, http.StatusServiceUnavailable, "503 Service Unavailable")
	})
	_, err := f.client(t).GetJob(context.Background(), "7", 42)
	if ClassOf(err) != Transient {
		t.Fatalf("err = %v", err)
	}
	if got := f.count("GET /api/v4/projects/7/jobs/42"); got != fastPolicy.maxRetries+1 {
		t.Fatalf("attempts = %d, want %d", got, fastPolicy.maxRetries+1)
	}
}

func Test429WithRetryAfterWaitsThenSucceeds(t *testing.T) {
	f := newFake(t)
	n := 0
	f.handle("GET /api/v4/user", func(w http.ResponseWriter, _ *http.Request) {
		n++
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("Retry later\n"))
			return
		}
		writeJSON(w, 200, map[string]any{"id": 1, "username": "root", "name": "Administrator"})
	})
	start := time.Now()
	u, err := f.client(t).CurrentUser(context.Background())
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "root" {
		t.Fatalf("user = %+v", u)
	}
	if got := f.count("GET /api/v4/user"); got != 2 {
		t.Fatalf("requests = %d, want 2", got)
	}
	if elapsed < 900*time.Millisecond {
		t.Fatalf("returned after %s; Retry-After: 1 asks for a second", elapsed)
	}
}

func TestRetryAfterAboveCapReturnsRateLimitedWithoutSleeping(t *testing.T) {
	for name, header := range map[string][2]string{
		"Retry-After seconds":  {"Retry-After", "120"},
		"Retry-After date":     {"Retry-After", time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)},
		"RateLimit-Reset unix": {"RateLimit-Reset", strconv.FormatInt(time.Now().Add(2*time.Minute).Unix(), 10)},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			f.handle("GET /api/v4/projects/7/jobs", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set(header[0], header[1])
				writeJSON(w, 429, map[string]any{"message": map[string]any{"error": "This endpoint has been requested too many times. Try again later."}})
			})
			start := time.Now()
			err := f.client(t).ListProjectJobs(context.Background(), "7", nil, func(Job) bool { return true })
			if time.Since(start) > 5*time.Second {
				t.Fatalf("slept %s", time.Since(start))
			}
			if ClassOf(err) != RateLimited {
				t.Fatalf("err = %v, want RateLimited", err)
			}
			if ra := RetryAfter(err); ra < 100*time.Second || ra > 121*time.Second {
				t.Fatalf("RetryAfter = %s, want about 2m", ra)
			}
			if got := f.total(); got != 1 {
				t.Fatalf("requests = %d, want 1", got)
			}
		})
	}
}

func TestGETRetriesTimeoutsButPOSTDoesNot(t *testing.T) {
	f := newFake(t)
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	f.handle("GET /api/v4/projects/7/jobs/42", slow)
	f.handle("POST /api/v4/projects/7/jobs/42/cancel", slow)
	c := f.client(t, func(c *Config) { c.Timeout = 50 * time.Millisecond })

	_, err := c.GetJob(context.Background(), "7", 42)
	if ClassOf(err) != Transient {
		t.Fatalf("GET err = %v, want Transient", err)
	}
	if got := f.count("GET /api/v4/projects/7/jobs/42"); got != fastPolicy.maxRetries+1 {
		t.Fatalf("GET attempts = %d, want %d", got, fastPolicy.maxRetries+1)
	}
	_, err = c.CancelJob(context.Background(), "7", 42, false)
	if ClassOf(err) != Transient {
		t.Fatalf("POST err = %v, want Transient", err)
	}
	if got := f.count("POST /api/v4/projects/7/jobs/42/cancel"); got != 1 {
		t.Fatalf("POST attempts = %d, want 1", got)
	}
}

func TestCanceledContextStopsRetrying(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/user", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "10")
		writeMessage(w, 429, "429 Too Many Requests")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client(t).CurrentUser(ctx)
	if time.Since(start) > 2*time.Second {
		t.Fatalf("kept waiting %s after the context ended", time.Since(start))
	}
	if err == nil || ClassOf(err) == "" {
		t.Fatalf("err = %v", err)
	}
}

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"none", nil, 0},
		{"retry-after seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"retry-after date", map[string]string{"Retry-After": now.Add(7 * time.Second).Format(http.TimeFormat)}, 7 * time.Second},
		{"retry-after in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"retry-after garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"ratelimit-reset unix", map[string]string{"RateLimit-Reset": strconv.FormatInt(now.Add(42*time.Second).Unix(), 10)}, 42 * time.Second},
		{"ratelimit-reset delta", map[string]string{"RateLimit-Reset": "5"}, 5 * time.Second},
		{"retry-after wins", map[string]string{"Retry-After": "2", "RateLimit-Reset": "50"}, 2 * time.Second},
		{"absurd", map[string]string{"Retry-After": "99999999999"}, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := serverWait(h, now); got != tt.want {
				t.Fatalf("serverWait = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	p := defaultRetryPolicy
	for attempt := 0; attempt < 40; attempt++ {
		d := p.backoff(0, 0, attempt, nil)
		want := min(p.baseBackoff<<min(attempt, 16), p.maxBackoff)
		if d < want/2 || d > want {
			t.Fatalf("attempt %d: backoff %s outside [%s, %s]", attempt, d, want/2, want)
		}
	}
	resp := &http.Response{Header: http.Header{"Retry-After": {"4"}}}
	if d := p.backoff(0, 0, 0, resp); d < 4*time.Second || d > 4400*time.Millisecond {
		t.Fatalf("Retry-After 4: backoff %s", d)
	}
}

func TestRetriesAreLoggedAtV1ThroughTheContextLoggerWithoutSecrets(t *testing.T) {
	f := newFake(t)
	n := 0
	f.handle("GET /api/v4/projects/{id}/jobs", func(w http.ResponseWriter, _ *http.Request) {
		n++
		if n == 1 {
			writeMessage(w, 502, "502 Bad Gateway")
			return
		}
		writeJSON(w, 200, []any{})
	})
	var lines []string
	logger := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{Verbosity: 1})
	ctx := logr.NewContext(context.Background(), logger)
	if err := f.client(t).ListProjectJobs(ctx, "group/app", []string{"failed"}, func(Job) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "Retrying GitLab request") || !strings.Contains(lines[0], "/api/v4/projects/:id/jobs") {
		t.Fatalf("log = %q", lines)
	}
	for _, secret := range []string{testToken, "group", "Private-Token", "pagination"} {
		if strings.Contains(lines[0], secret) {
			t.Fatalf("log line carries %q: %s", secret, lines[0])
		}
	}

	// At the default verbosity, nothing.
	lines = nil
	n = 0
	quiet := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{})
	if err := f.client(t).ListProjectJobs(logr.NewContext(context.Background(), quiet), "7", nil, func(Job) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 0 {
		t.Fatalf("logged at V(0): %q", lines)
	}
}
