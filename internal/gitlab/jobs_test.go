package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// keysetJobs serves n jobs (ids n..1) newest first, 100 a page, the next
// page only in a Link header, as GitLab's keyset pagination does.
func keysetJobs(t *testing.T, f *fakeGitLab, n int) {
	f.handle("GET /api/v4/projects/{id}/jobs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("pagination") != "keyset" || q.Get("order_by") != "id" || q.Get("sort") != "desc" {
			writeJSON(w, 405, map[string]any{"error": "Keyset pagination is not yet available for this type of request"})
			return
		}
		per, _ := strconv.Atoi(q.Get("per_page"))
		if per != 100 {
			t.Errorf("per_page = %q, want 100", q.Get("per_page"))
		}
		top := n
		if c := q.Get("cursor"); c != "" {
			top, _ = strconv.Atoi(c)
		}
		var page []map[string]any
		for id := top; id > 0 && len(page) < per; id-- {
			page = append(page, jobDoc(int64(id), fmt.Sprintf("job-%d", id), "failed"))
		}
		if last := top - len(page); last > 0 {
			next := url.Values{}
			for k, v := range q {
				next[k] = v
			}
			next.Set("cursor", strconv.Itoa(last))
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, f.srv.URL, r.URL.EscapedPath(), next.Encode()))
		}
		writeJSON(w, 200, page)
	})
}

func TestListProjectJobsWalksEveryKeysetPageNewestFirst(t *testing.T) {
	f := newFake(t)
	keysetJobs(t, f, 250)
	var ids []int64
	err := f.client(t).ListProjectJobs(context.Background(), "group/app", []string{"failed", "canceled"}, func(j Job) bool {
		ids = append(ids, j.ID)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 250 || ids[0] != 250 || ids[249] != 1 {
		t.Fatalf("visited %d jobs, first %d last %d", len(ids), ids[0], ids[len(ids)-1])
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("not newest first at %d: %d after %d", i, ids[i], ids[i-1])
		}
	}
	if got := f.count("GET /api/v4/projects/group%2Fapp/jobs"); got != 3 {
		t.Fatalf("requests = %d, want 3 pages", got)
	}
	q, _ := url.ParseQuery(f.lastQuery())
	if s := q["scope[]"]; len(s) != 2 || s[0] != "failed" || s[1] != "canceled" {
		t.Fatalf("scope[] = %v", s)
	}
}

func TestListProjectJobsStopsAsSoonAsVisitSaysSo(t *testing.T) {
	tests := []struct {
		name      string
		stopAt    int64
		wantCalls int
	}{
		{"first job", 300, 1},
		{"end of first page", 201, 1},
		{"second page", 150, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			keysetJobs(t, f, 300)
			visited := 0
			err := f.client(t).ListProjectJobs(context.Background(), "7", nil, func(j Job) bool {
				visited++
				return j.ID != tt.stopAt
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.total(); got != tt.wantCalls {
				t.Fatalf("requests = %d, want %d", got, tt.wantCalls)
			}
			if want := int(300 - tt.stopAt + 1); visited != want {
				t.Fatalf("visited %d, want %d", visited, want)
			}
		})
	}
}

func TestListPipelineJobsReadsAllOffsetPages(t *testing.T) {
	f := newFake(t)
	const total = 230
	f.handle("GET /api/v4/projects/7/pipelines/812/jobs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("include_retried") != "true" {
			t.Errorf("include_retried = %q", q.Get("include_retried"))
		}
		page, _ := strconv.Atoi(q.Get("page"))
		if page == 0 {
			page = 1
		}
		per, _ := strconv.Atoi(q.Get("per_page"))
		var out []map[string]any
		for i := (page-1)*per + 1; i <= total && len(out) < per; i++ {
			out = append(out, jobDoc(int64(1000-i), "test", "success"))
		}
		next := ""
		if page*per < total {
			next = strconv.Itoa(page + 1)
		}
		w.Header().Set("X-Page", strconv.Itoa(page))
		w.Header().Set("X-Per-Page", strconv.Itoa(per))
		w.Header().Set("X-Next-Page", next)
		w.Header().Set("X-Total", strconv.Itoa(total))
		writeJSON(w, 200, out)
	})
	jobs, err := f.client(t).ListPipelineJobs(context.Background(), "7", 812, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != total {
		t.Fatalf("got %d jobs, want %d", len(jobs), total)
	}
	if got := f.total(); got != 3 {
		t.Fatalf("requests = %d, want 3", got)
	}
	j := jobs[0]
	if j.PipelineID != 812 || j.ProjectID != 7 || j.UserName != "root" || len(j.Tags) != 1 || j.CreatedAt == nil || j.Bridge {
		t.Fatalf("job mapped wrong: %+v", j)
	}
}

func TestListPipelineBridgesMapsDownstream(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/7/pipelines/812/bridges", func(w http.ResponseWriter, _ *http.Request) {
		b := map[string]any{
			"id": 9, "name": "trigger", "stage": "deploy", "status": "success", "ref": "main",
			"pipeline":            map[string]any{"id": 812, "project_id": 7},
			"downstream_pipeline": map[string]any{"id": 900, "project_id": 8},
			"user":                map[string]any{"username": "root"},
		}
		pending := map[string]any{"id": 10, "name": "later", "status": "created", "downstream_pipeline": nil,
			"pipeline": map[string]any{"id": 812, "project_id": 7}}
		writeJSON(w, 200, []any{b, pending})
	})
	bridges, err := f.client(t).ListPipelineBridges(context.Background(), "7", 812)
	if err != nil {
		t.Fatal(err)
	}
	if len(bridges) != 2 || !bridges[0].Bridge || bridges[0].DownstreamPipelineID != 900 || bridges[1].DownstreamPipelineID != 0 {
		t.Fatalf("bridges = %+v", bridges)
	}
}

func TestRetryReturnsTheNewJob(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/7/jobs/42/retry", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 201, jobDoc(43, "test", "pending"))
	})
	j, err := f.client(t).RetryJob(context.Background(), "7", 42)
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != 43 || j.Status != "pending" {
		t.Fatalf("job = %+v, want the new job 43", j)
	}
}

func TestPlaySendsVariablesAndAccepts200(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/7/jobs/42/play", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, jobDoc(42, "deploy", "pending"))
	})
	_, err := f.client(t).PlayJob(context.Background(), "7", 42, []Variable{{Key: "ENV", Value: "prod"}, {Key: "DRY", Value: ""}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Attrs []map[string]string `json:"job_variables_attributes"`
	}
	if err := json.Unmarshal([]byte(f.lastBody()), &body); err != nil {
		t.Fatalf("body %q: %v", f.lastBody(), err)
	}
	if len(body.Attrs) != 2 || body.Attrs[0]["key"] != "ENV" || body.Attrs[0]["value"] != "prod" {
		t.Fatalf("variables sent = %v", body.Attrs)
	}
	if v, ok := body.Attrs[1]["value"]; !ok || v != "" {
		t.Fatalf("an empty value must still be sent (GitLab says 'is missing' otherwise): %v", body.Attrs[1])
	}
}

func TestCancelForceAndCancelNotCancelable(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/7/jobs/42/cancel", func(w http.ResponseWriter, r *http.Request) {
		// A job that cannot be canceled comes back unchanged, still 201.
		writeJSON(w, 201, jobDoc(42, "test", "success"))
	})
	c := f.client(t)
	j, err := c.CancelJob(context.Background(), "7", 42, true)
	if err != nil || j.Status != "success" {
		t.Fatalf("job %+v err %v", j, err)
	}
	if q, _ := url.ParseQuery(f.lastQuery()); q.Get("force") != "true" {
		t.Fatalf("force not in query: %q", f.lastQuery())
	}
	if _, err := c.CancelJob(context.Background(), "7", 42, false); err != nil {
		t.Fatal(err)
	}
	if f.lastQuery() != "" {
		t.Fatalf("unforced cancel sent query %q", f.lastQuery())
	}
}

func TestEraseReturnsErasedAt(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/7/jobs/42/erase", func(w http.ResponseWriter, _ *http.Request) {
		d := jobDoc(42, "test", "success")
		d["erased_at"] = "2016-01-11T10:13:33.506Z"
		writeJSON(w, 201, d)
	})
	j, err := f.client(t).EraseJob(context.Background(), "7", 42)
	if err != nil || j.ErasedAt == nil {
		t.Fatalf("job %+v err %v", j, err)
	}
}

func TestProjectPathIsEscapedAndNumericIDIsNot(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/{id}/jobs/{job}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, jobDoc(1, "x", "success"))
	})
	c := f.client(t)
	for _, p := range []string{"group/sub.group/app", "42"} {
		if _, err := c.GetJob(context.Background(), p, 1); err != nil {
			t.Fatal(err)
		}
	}
	if f.count("GET /api/v4/projects/group%2Fsub%2Egroup%2Fapp/jobs/1") != 1 || f.count("GET /api/v4/projects/42/jobs/1") != 1 {
		t.Fatalf("paths seen: %v", f.hits)
	}
}

func TestGarbledSuccessIsTransient(t *testing.T) {
	f := newFake(t)
	f.handle("POST /api/v4/projects/7/jobs/42/retry", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"id": 4`))
	})
	_, err := f.client(t).RetryJob(context.Background(), "7", 42)
	if ClassOf(err) != Transient {
		t.Fatalf("err = %v, want Transient (the action may have happened)", err)
	}
	if f.total() != 1 {
		t.Fatal("resent")
	}
}
