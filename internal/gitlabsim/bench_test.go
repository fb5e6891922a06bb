package gitlabsim

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// bigProject builds a project with n builds (1000 pipelines of n/1000), a
// tenth of them failed, and returns the server and the lowest job id.
func bigProject(b *testing.B, n int) (*Server, int64) {
	b.Helper()
	s := New(Options{})
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.CreateUser(UserSpec{Username: "alice", Token: testToken}); err != nil {
		b.Fatal(err)
	}
	p, err := s.CreateProject(ProjectSpec{PathWithNamespace: "group/big"})
	if err != nil {
		b.Fatal(err)
	}
	per := n / 1000
	var first int64
	for i := 0; i < 1000; i++ {
		jobs := make([]JobSpec, per)
		for k := range jobs {
			jobs[k] = JobSpec{Name: fmt.Sprintf("job-%d", k), Status: StatusSuccess, TagList: []string{"docker"}}
			if k%10 == 0 {
				jobs[k].Status, jobs[k].FailureReason = StatusFailed, ReasonRunnerSystemFailure
			}
		}
		pl, err := s.CreatePipeline(PipelineSpec{ProjectID: p.ID, Username: "alice", Jobs: jobs})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = pl.Jobs[0].ID
		}
	}
	return s, first
}

// BenchmarkKeysetPage measures the server's work for one keyset page of a
// 100,000-job project (routing, auth, index, rendering and JSON encoding of
// 20 jobs), without the network: the first page, a page deep in the history
// (cursor near the oldest job), and a deep page filtered by status.
func BenchmarkKeysetPage(b *testing.B) {
	s, first := bigProject(b, 100_000)
	h := s.Handler()
	deep := encodeCursor(first + 2000)
	for _, bc := range []struct{ name, query string }{
		{"first", "pagination=keyset&per_page=20"},
		{"deep", "pagination=keyset&per_page=20&cursor=" + deep},
		{"deep-scope-failed", "pagination=keyset&per_page=20&scope[]=failed&cursor=" + deep},
		{"first-100", "pagination=keyset&per_page=100"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := &http.Request{
				Method: "GET", URL: &url.URL{Path: "/api/v4/projects/group%2Fbig/jobs", RawPath: "/api/v4/projects/group%2Fbig/jobs", RawQuery: bc.query},
				Header: http.Header{"Private-Token": {testToken}}, Host: "sim",
			}
			req.URL.Path = "/api/v4/projects/group/big/jobs"
			b.ReportAllocs()
			rec := &countingWriter{h: http.Header{}}
			for b.Loop() {
				rec.code, rec.n = 0, 0
				clear(rec.h)
				h.ServeHTTP(rec, req)
				if rec.code != 200 || rec.n < 1000 {
					b.Fatalf("answered %d with %d bytes", rec.code, rec.n)
				}
			}
			b.ReportMetric(float64(rec.n), "bytes/page")
		})
	}
}

// countingWriter is a ResponseWriter that keeps only the status and the
// size, so the benchmark measures the server, not a recorder's buffer.
type countingWriter struct {
	h    http.Header
	code int
	n    int
}

func (c *countingWriter) Header() http.Header { return c.h }
func (c *countingWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
func (c *countingWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = 200
	}
	c.n += len(b)
	return len(b), nil
}

// BenchmarkKeysetIndex isolates the index lookup behind a keyset page.
func BenchmarkKeysetIndex(b *testing.B) {
	s, first := bigProject(b, 100_000)
	p := s.st.projects[1]
	for _, bc := range []struct {
		name   string
		scope  []string
		before int64
	}{
		{"first", nil, 0},
		{"deep", nil, first + 2000},
		{"deep-scope-failed-success", []string{StatusFailed, StatusSuccess}, first + 2000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ids, _ := p.idx.page(bc.scope, bc.before, 0, 20)
				if len(ids) != 20 {
					b.Fatalf("%d ids", len(ids))
				}
			}
		})
	}
}
