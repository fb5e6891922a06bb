package gitlabsim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzListQuery feeds arbitrary query strings to the list endpoints. Under
// plain `go test` it runs the seeds; `go test -fuzz FuzzListQuery` explores.
// Whatever the query, the answer is never a panic or a 500, and a 200 has
// sane pagination.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{
		"", "scope=failed", "scope[]=failed&scope[]=success", "scope[a]=running", "scope=bogus", "scope=",
		"page=0", "page=-5", "page=99999999999999999999", "page=9223372036854775807&per_page=100",
		"per_page=0", "per_page=1000", "per_page=-1", "per_page=abc",
		"pagination=keyset", "pagination=keyset&cursor=eyJpZCI6IjEwIiwiX2tkIjoibiJ9",
		"pagination=keyset&cursor=eyJpZCI6Ii0xIn0", "pagination=keyset&cursor=%%%",
		"pagination=keyset&order_by=id&sort=asc", "pagination=offset&order_by=name",
		"include_retried=true", "include_retried=yes&scope[]=manual", "include_retried=2",
		"scope%5B%5D=pending", "a=%zz&page=2", "scope=failed&scope=success", "scope=failed&scope[]=success",
		"scope[]=failed&scope=success", "scope[a]=failed&scope[]=success", "cursor=" + encodeCursor(1<<62),
	} {
		f.Add(seed)
	}
	s := New(Options{JobsRateLimitPerMinute: 0})
	defer s.Close()
	if _, err := s.CreateUser(UserSpec{Username: "alice", Token: testToken}); err != nil {
		f.Fatal(err)
	}
	p, err := s.CreateProject(ProjectSpec{PathWithNamespace: "group/app"})
	if err != nil {
		f.Fatal(err)
	}
	jobs := manyJobs(30, StatusSuccess)
	for i := range jobs {
		jobs[i].Status = AllStatuses[i%len(AllStatuses)]
	}
	pl, err := s.CreatePipeline(PipelineSpec{ProjectID: p.ID, Jobs: jobs, Bridges: []BridgeSpec{{Name: "b"}}})
	if err != nil {
		f.Fatal(err)
	}
	paths := []string{
		"/api/v4/projects/1/jobs",
		"/api/v4/projects/1/pipelines/" + itoa(pl.ID) + "/jobs",
		"/api/v4/projects/1/pipelines/" + itoa(pl.ID) + "/bridges",
	}
	h := s.Handler()

	f.Fuzz(func(t *testing.T, raw string) {
		for _, kind := range []listKind{listProjectJobs, listPipelineJobs, listBridges} {
			lq, err := parseListQuery(raw, kind)
			if err == nil && (lq.page < 1 || lq.perPage < 1 || lq.perPage > maxPerPage || lq.cursor < 0) {
				t.Fatalf("parsed %q to %+v", raw, lq)
			}
		}
		for _, path := range paths {
			req := &http.Request{
				Method: "GET", URL: &url.URL{Path: path, RawQuery: raw},
				Header: http.Header{"Private-Token": {testToken}}, Host: "sim",
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req.WithContext(t.Context()))
			switch rec.Code {
			case 200, 400, 405:
			default:
				t.Fatalf("%s?%s answered %d: %s", path, raw, rec.Code, rec.Body)
			}
		}
	})
}
