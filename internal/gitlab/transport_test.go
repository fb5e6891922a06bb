package gitlab

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

func userHandler(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{"id": 1, "username": "root", "name": "Administrator"})
}

func TestTokenTypesSendTheirHeader(t *testing.T) {
	tests := []struct {
		tokenType  TokenType
		header     string
		want       string
		mustBeNone string
	}{
		{"", "Private-Token", testToken, "Authorization"},
		{PrivateToken, "Private-Token", testToken, "Authorization"},
		{OAuth, "Authorization", "Bearer " + testToken, "Private-Token"},
	}
	for _, tt := range tests {
		t.Run(string(tt.tokenType), func(t *testing.T) {
			f := newFake(t)
			f.handle("GET /api/v4/user", userHandler)
			c := f.client(t, func(c *Config) { c.TokenType = tt.tokenType })
			u, err := c.CurrentUser(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != 1 || u.Username != "root" || u.Name != "Administrator" {
				t.Fatalf("user = %+v", u)
			}
			h := f.lastHeader()
			if got := h.Get(tt.header); got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.header, got, tt.want)
			}
			if h.Get(tt.mustBeNone) != "" || h.Get("Job-Token") != "" {
				t.Fatalf("extra credentials sent: %v", h)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(userHandler))
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	tests := []struct {
		name string
		mod  func(*Config)
		want Class
	}{
		{"CA bundle verifies", func(c *Config) { c.CABundle = caPEM }, ""},
		{"unknown CA is a TLSError", func(*Config) {}, TLSError},
		{"insecureSkipTLSVerify when set", func(c *Config) { c.InsecureSkipTLSVerify = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Connection: "ns/" + t.Name(), URL: srv.URL, Token: testToken}
			tt.mod(&cfg)
			c, err := testClients().Get(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, counter := WithRequestCounter(context.Background())
			_, err = c.CurrentUser(ctx)
			if ClassOf(err) != tt.want {
				t.Fatalf("err = %v, want class %q", err, tt.want)
			}
			if tt.want == TLSError {
				if counter.Count() != 1 {
					t.Fatalf("a certificate error was retried: %d attempts", counter.Count())
				}
				if IsTerminal(err) {
					t.Fatal("TLSError is not a GitLab refusal; the connection controller re-checks it")
				}
			}
		})
	}
}

func TestRateLimiterSpacesRequests(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/user", userHandler)
	c := f.client(t, func(c *Config) { c.RequestsPerSecond = 20; c.Burst = 1 })
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := c.CurrentUser(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 1 at 20/s: the 4 requests after the first wait 50 ms each.
	if elapsed := time.Since(start); elapsed < 180*time.Millisecond {
		t.Fatalf("5 requests at 20/s took %s, want >= 200ms", elapsed)
	}
}

func TestRateLimiterWaitHonoursContext(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/user", userHandler)
	c := f.client(t, func(c *Config) { c.RequestsPerSecond = 0.1; c.Burst = 1 })
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CurrentUser(ctx)
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %s; the limiter must give up with the context", err, time.Since(start))
	}
	if f.total() != 1 {
		t.Fatalf("server saw %d requests", f.total())
	}
}

func TestRequestCounterCountsEveryAttempt(t *testing.T) {
	f := newFake(t)
	n := 0
	f.handle("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n <= 2 {
			writeMessage(w, 502, "502 Bad Gateway")
			return
		}
		userHandler(w, r)
	})
	f.handle("POST /api/v4/projects/7/jobs/1/erase", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 201, jobDoc(1, "x", "success"))
	})
	c := f.client(t)
	outer, total := WithRequestCounter(context.Background())
	inner, sync := WithRequestCounter(outer)
	if _, err := c.CurrentUser(inner); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EraseJob(outer, "7", 1); err != nil {
		t.Fatal(err)
	}
	if sync.Count() != 3 || total.Count() != 4 {
		t.Fatalf("inner %d (want 3), outer %d (want 4)", sync.Count(), total.Count())
	}
	var none *RequestCounter
	if none.Count() != 0 {
		t.Fatal("nil counter")
	}
}

func TestMetricsAreLabelledByRouteTemplate(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/{id}/jobs/{job}/retry", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 201, jobDoc(4243, "test", "pending"))
	})
	f.handle("GET /api/v4/projects/{id}/jobs", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, []any{})
	})
	cfg := f.config(t)
	cs := testClients()
	c, err := cs.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RetryJob(context.Background(), "secret-group/app", 4242); err != nil {
		t.Fatal(err)
	}
	if err := c.ListProjectJobs(context.Background(), "secret-group/app", []string{"failed"}, func(Job) bool { return true }); err != nil {
		t.Fatal(err)
	}

	counts := series(t, MetricRequests, cfg.Connection)
	want := map[string]bool{
		"POST /api/v4/projects/:id/jobs/:job_id/retry 201": true,
		"GET /api/v4/projects/:id/jobs 200":                true,
	}
	if len(counts) != len(want) {
		t.Fatalf("series = %v, want %v", counts, want)
	}
	for _, s := range counts {
		if !want[s] {
			t.Fatalf("unexpected series %q", s)
		}
		if strings.Contains(s, "4242") || strings.Contains(s, "secret-group") || strings.Contains(s, "?") {
			t.Fatalf("label carries a raw id, path or query: %q", s)
		}
	}
	if d := series(t, MetricRequestDuration, cfg.Connection); len(d) != 2 {
		t.Fatalf("duration series = %v", d)
	}

	cs.Forget(cfg.Connection)
	if left := series(t, MetricRequests, cfg.Connection); len(left) != 0 {
		t.Fatalf("series left after Forget: %v", left)
	}
}

// series lists "METHOD endpoint [code]" of one metric for one connection,
// from controller-runtime's registry.
func series(t *testing.T, name, connection string) []string {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := labels(m)
			if l["connection"] != connection {
				continue
			}
			s := l["method"] + " " + l["endpoint"]
			if code, ok := l["code"]; ok {
				s += " " + code
			}
			out = append(out, s)
		}
	}
	return out
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}
