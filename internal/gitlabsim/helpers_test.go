package gitlabsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

const testToken = "glpat-test-alice"

// start serves a new simulator on a random local port for the test.
func start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s := New(opts)
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, url
}

// fixture is a small world most tests share: user alice (maintainer
// everywhere), project group/app and one pipeline with the given jobs.
type world struct {
	s       *Server
	url     string
	user    User
	project Project
	pl      Pipeline
}

func (w world) job(name string) int64 {
	for _, j := range w.pl.Jobs {
		if j.Name == name {
			return j.ID
		}
	}
	for _, j := range w.pl.Bridges {
		if j.Name == name {
			return j.ID
		}
	}
	panic("no job " + name)
}

func newWorld(t testing.TB, opts Options, jobs []JobSpec, bridges []BridgeSpec) world {
	t.Helper()
	s, url := start(t, opts)
	w := world{s: s, url: url}
	var err error
	if w.user, err = s.CreateUser(UserSpec{Username: "alice", Token: testToken}); err != nil {
		t.Fatal(err)
	}
	if w.project, err = s.CreateProject(ProjectSpec{PathWithNamespace: "group/app"}); err != nil {
		t.Fatal(err)
	}
	if w.pl, err = s.CreatePipeline(PipelineSpec{ProjectID: w.project.ID, Username: "alice", Jobs: jobs, Bridges: bridges}); err != nil {
		t.Fatal(err)
	}
	return w
}

// client is the real GitLab Go client, without retries so every status
// reaches the test.
func client(t testing.TB, url, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(url), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jobClient(t testing.TB, url, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewJobClient(token, gitlab.WithBaseURL(url), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// httpClient keeps enough idle connections for the concurrent tests; the
// default two per host made them churn through sockets.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

type response struct {
	code   int
	header http.Header
	body   string
}

// do sends a raw request; headers are "Name: value" strings.
func do(t testing.TB, method, url, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: res.StatusCode, header: res.Header, body: string(b)}
}

func auth(token string) string { return "PRIVATE-TOKEN: " + token }

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func (r response) want(t testing.TB, code int, body string) {
	t.Helper()
	if r.code != code || (body != "" && r.body != body) {
		t.Fatalf("got %d %s, want %d %s", r.code, r.body, code, body)
	}
}

func statusOf(resp *gitlab.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func manyJobs(n int, status string) []JobSpec {
	jobs := make([]JobSpec, n)
	for i := range jobs {
		jobs[i] = JobSpec{Name: fmt.Sprintf("job-%d", i), Status: status}
	}
	return jobs
}
