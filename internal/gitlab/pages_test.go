package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// A server (or proxy) that names a page already read as the next one must
// not make a listing loop: the walk ends there, with what it has read.
func TestAListingEndsWhenTheNextPageDoesNotMoveForward(t *testing.T) {
	t.Run("keyset link already followed", func(t *testing.T) {
		f := newFake(t)
		f.handle("GET /api/v4/projects/7/jobs", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v4/projects/7/jobs?cursor=same&pagination=keyset>; rel="next"`, f.srv.URL))
			writeJSON(w, 200, []any{jobDoc(int64(f.total()), "test", "failed")})
		})
		visited := 0
		err := f.client(t).ListProjectJobs(context.Background(), "7", nil, func(Job) bool { visited++; return true })
		if err != nil {
			t.Fatal(err)
		}
		if f.total() != 2 || visited != 2 {
			t.Fatalf("requests %d, visited %d: want the first page and the linked one, then stop", f.total(), visited)
		}
	})
	t.Run("offset page not after the last one", func(t *testing.T) {
		f := newFake(t)
		f.handle("GET /api/v4/projects/7/pipelines/812/jobs", func(w http.ResponseWriter, r *http.Request) {
			// Page 1 says 2, page 2 says 2 again.
			w.Header().Set("X-Next-Page", "2")
			writeJSON(w, 200, []any{jobDoc(int64(f.total()), "test", "success")})
		})
		jobs, err := f.client(t).ListPipelineJobs(context.Background(), "7", 812, false)
		if err != nil {
			t.Fatal(err)
		}
		if f.total() != 2 || len(jobs) != 2 {
			t.Fatalf("requests %d, jobs %d: want pages 1 and 2, then stop", f.total(), len(jobs))
		}
	})
}

// Each page is a call of its own: a failing page is retried on its own and
// fails the listing with its own classified error, after the pages before it
// were read once each.
func TestEachPageIsOneCallWithItsOwnRetriesAndError(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/7/pipelines/812/bridges", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			writeMessage(w, http.StatusBadGateway, "502 Bad Gateway")
			return
		}
		w.Header().Set("X-Next-Page", "2")
		writeJSON(w, 200, []any{map[string]any{"id": 9, "name": "trigger", "pipeline": map[string]any{"id": 812, "project_id": 7}}})
	})
	ctx, counter := WithRequestCounter(context.Background())
	_, err := f.client(t).ListPipelineBridges(ctx, "7", 812)
	var e *Error
	if ClassOf(err) != Transient || !errors.As(err, &e) || e.Endpoint != epBridges || e.StatusCode != http.StatusBadGateway {
		t.Fatalf("err = %v, want Transient 502 on %s", err, epBridges)
	}
	if want := int64(1 + fastPolicy.maxRetries + 1); counter.Count() != want {
		t.Fatalf("requests = %d, want %d (page 1 once, page 2 with its retries)", counter.Count(), want)
	}
}

func TestProgressFollowsOnlyPagesAhead(t *testing.T) {
	link := func(cursor string) string { return "https://gitlab/api/v4/projects/7/jobs?cursor=" + cursor }
	tests := []struct {
		name  string
		resps []gl.Response
		want  []bool // whether each response still names a next page
	}{
		{"keyset links", []gl.Response{{NextLink: link("a")}, {NextLink: link("b")}, {}}, []bool{true, true, false}},
		{"keyset link seen before", []gl.Response{{NextLink: link("a")}, {NextLink: link("b")}, {NextLink: link("a")}}, []bool{true, true, false}},
		{"offset pages", []gl.Response{{NextPage: 2}, {NextPage: 3}, {}}, []bool{true, true, false}},
		{"offset page 1 again", []gl.Response{{NextPage: 1}}, []bool{false}},
		{"offset page going back", []gl.Response{{NextPage: 3}, {NextPage: 2}}, []bool{true, false}},
		{"graphql cursor", []gl.Response{{PageInfo: &gl.PageInfo{HasNextPage: true}}}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress()
			for i := range tt.resps {
				_, more := gl.WithNext(p.check(&tt.resps[i]))
				if more != tt.want[i] {
					t.Fatalf("response %d: next page = %v, want %v", i, more, tt.want[i])
				}
			}
		})
	}
	if _, more := gl.WithNext(newProgress().check(nil)); more {
		t.Fatal("no response must end the walk")
	}
}
