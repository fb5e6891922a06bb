package gitlab

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fastPolicy keeps the retry behaviour but not its waits, so tests of
// retries run in milliseconds (server-requested waits are still honoured).
var fastPolicy = retryPolicy{
	maxRetries:    3,
	baseBackoff:   time.Millisecond,
	maxBackoff:    4 * time.Millisecond,
	maxServerWait: 30 * time.Second,
}

const testToken = "glpat-SECRET-token-0123456789"

// fakeGitLab is a small GitLab stand-in for one test: routes answer like
// docs/gitlab-api.md says, and every request is counted and its headers kept.
type fakeGitLab struct {
	srv *httptest.Server
	mux *http.ServeMux

	mu      sync.Mutex
	hits    map[string]int // "METHOD /escaped/path"
	headers []http.Header
	queries []string
	bodies  []string
}

func newFake(t *testing.T) *fakeGitLab {
	t.Helper()
	f := &fakeGitLab{mux: http.NewServeMux(), hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body = make([]byte, 0, 512)
		buf := make([]byte, 512)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
	}
	f.mu.Lock()
	f.hits[r.Method+" "+r.URL.EscapedPath()]++
	f.headers = append(f.headers, r.Header.Clone())
	f.queries = append(f.queries, r.URL.RawQuery)
	f.bodies = append(f.bodies, string(body))
	f.mu.Unlock()
	f.mux.ServeHTTP(w, r)
}

func (f *fakeGitLab) handle(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

func (f *fakeGitLab) count(methodAndPath string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[methodAndPath]
}

func (f *fakeGitLab) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.hits {
		n += v
	}
	return n
}

func (f *fakeGitLab) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[len(f.headers)-1]
}

func (f *fakeGitLab) lastQuery() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[len(f.queries)-1]
}

func (f *fakeGitLab) lastBody() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

func (f *fakeGitLab) config(t *testing.T) Config {
	return Config{Connection: "ns/" + t.Name(), URL: f.srv.URL, Token: testToken}
}

// client returns a Client over the fake with the fast retry policy.
func (f *fakeGitLab) client(t *testing.T, mods ...func(*Config)) Client {
	t.Helper()
	cfg := f.config(t)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := testClients().Get(cfg)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return c
}

func testClients() *Clients {
	cs := NewClients()
	cs.policy = fastPolicy
	return cs
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg})
}

// jobDoc is a job object as GitLab renders it.
func jobDoc(id int64, name, status string) map[string]any {
	d := map[string]any{
		"id": id, "name": name, "stage": "test", "ref": "main", "status": status,
		"tag_list":    []string{"docker"},
		"created_at":  "2015-12-24T15:51:21.880Z",
		"started_at":  nil,
		"finished_at": nil,
		"erased_at":   nil,
		"web_url":     fmt.Sprintf("https://gitlab.example.com/group/app/-/jobs/%d", id),
		"pipeline":    map[string]any{"id": 812, "project_id": 7, "ref": "main", "status": "running"},
		"user":        map[string]any{"id": 1, "username": "root", "name": "Administrator"},
	}
	if status == "failed" {
		d["failure_reason"] = "script_failure"
	}
	return d
}
