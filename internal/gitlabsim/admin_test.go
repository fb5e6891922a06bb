package gitlabsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

const adminToken = "sim-admin"

func admin(t *testing.T, method, url, body string) response {
	t.Helper()
	return do(t, method, url, body, "X-Sim-Admin-Token: "+adminToken)
}

func TestAdminAPIBuildsAWorldTheClientSees(t *testing.T) {
	_, url := start(t, Options{AdminToken: adminToken})
	sim := url + "/-/sim"

	// The guard.
	do(t, "POST", sim+"/users", `{"username":"alice","token":"glpat-a"}`).want(t, 401, `{"message":"401 Unauthorized"}`)
	do(t, "POST", sim+"/users", `{"username":"alice","token":"glpat-a"}`, "X-Sim-Admin-Token: wrong").want(t, 401, "")

	res := admin(t, "POST", sim+"/users", `{"username":"alice","name":"Alice","token":"glpat-a"}`)
	var u User
	res.json(t, &u)
	if res.code != 201 || u.ID != 1 || u.Username != "alice" || u.Token != "glpat-a" {
		t.Fatalf("user: %d %s", res.code, res.body)
	}
	admin(t, "POST", sim+"/users", `{"username":"alice"}`).want(t, 409, "")
	admin(t, "POST", sim+"/users", `{"username":"x","tokn":"typo"}`).want(t, 400, "")

	res = admin(t, "POST", sim+"/projects", `{"path_with_namespace":"group/app","id":7}`)
	var p Project
	res.json(t, &p)
	if res.code != 201 || p.ID != 7 || p.PathWithNamespace != "group/app" {
		t.Fatalf("project: %d %s", res.code, res.body)
	}
	admin(t, "POST", sim+"/projects", `{"path_with_namespace":"group/app"}`).want(t, 409, "")
	admin(t, "POST", sim+"/projects", `{"path_with_namespace":"bad path"}`).want(t, 400, "")

	res = admin(t, "POST", sim+"/pipelines", `{"project_id":7,"ref":"main","sha":"`+strings.Repeat("ab", 20)+`",
		"jobs":[{"name":"rspec","stage":"test","status":"failed","failure_reason":"script_failure","when":"on_success",
		         "trace":"boom","tag_list":["docker"],"artifacts":true,"allow_failure":false,
		         "outcomes":["failed:runner_system_failure","success"]}],
		"bridges":[{"name":"trigger","stage":"deploy","status":"success","downstream_status":"failed"}]}`)
	var pl struct {
		ID      int64
		Jobs    []JobRef
		Bridges []JobRef
	}
	res.json(t, &pl)
	if res.code != 201 || pl.ID != 1 || len(pl.Jobs) != 1 || pl.Jobs[0] != (JobRef{1, "rspec"}) || pl.Bridges[0] != (JobRef{2, "trigger"}) {
		t.Fatalf("pipeline: %d %s", res.code, res.body)
	}
	admin(t, "POST", sim+"/pipelines", `{"project_id":99,"jobs":[{"name":"x"}]}`).want(t, 404, "")
	admin(t, "POST", sim+"/pipelines", `{"project_id":7,"jobs":[{"name":"x","status":"bogus"}]}`).want(t, 400, "")
	admin(t, "POST", sim+"/pipelines", `{"project_id":7,"jobs":[{"name":"x","outcomes":["maybe"]}]}`).want(t, 400, "")

	// A transition answers the job as the API shows it, with a token to get.
	admin(t, "GET", sim+"/jobs/1/token", "").want(t, 404, "")
	res = admin(t, "POST", sim+"/jobs/1/status", `{"status":"running"}`)
	var j map[string]any
	res.json(t, &j)
	if res.code != 200 || j["status"] != "running" || j["web_url"] != url+"/group/app/-/jobs/1" {
		t.Fatalf("status: %d %s", res.code, res.body)
	}
	admin(t, "POST", sim+"/jobs/99/status", `{"status":"running"}`).want(t, 404, "")
	admin(t, "POST", sim+"/jobs/1/status", `{"status":"nope"}`).want(t, 400, "")
	res = admin(t, "GET", sim+"/jobs/1/token", "")
	var tok struct{ Token string }
	res.json(t, &tok)
	if res.code != 200 || !strings.HasPrefix(tok.Token, "glcbt-") {
		t.Fatalf("token: %d %s", res.code, res.body)
	}
	res = admin(t, "POST", sim+"/agents", `{"id":5,"config_project_id":7,"authorized_project_ids":[7]}`)
	if res.code != 201 || !strings.Contains(res.body, `"id":5`) {
		t.Fatalf("agent: %d %s", res.code, res.body)
	}
	do(t, "GET", url+"/api/v4/job/allowed_agents", "", "JOB-TOKEN: "+tok.Token).want(t, 200, "")

	// What the admin built, the real client sees.
	c := client(t, url, "glpat-a")
	jobs, _, err := c.Jobs.ListProjectJobs(7, nil)
	if err != nil || len(jobs) != 1 || jobs[0].Status != StatusRunning || jobs[0].Pipeline.Sha != strings.Repeat("ab", 20) {
		t.Fatalf("client: %v %+v", err, jobs)
	}
	admin(t, "POST", sim+"/jobs/1/status", `{"status":"failed","failure_reason":"script_failure","log":"more"}`).want(t, 200, "")
	if _, _, err := c.Jobs.RetryJob(7, 1); err != nil {
		t.Fatal(err)
	}

	// Stats by route template and code, actions by job id.
	res = admin(t, "GET", sim+"/stats", "")
	var st struct {
		Requests map[string]map[string]int64 `json:"requests"`
		Actions  map[string]map[string]int64 `json:"actions"`
	}
	res.json(t, &st)
	if st.Requests["POST /api/v4/projects/:id/jobs/:job_id/retry"]["201"] != 1 ||
		st.Requests["GET /api/v4/projects/:id/jobs"]["200"] != 1 ||
		st.Requests["GET /api/v4/job/allowed_agents"]["200"] != 1 {
		t.Fatalf("stats requests: %s", res.body)
	}
	if st.Actions["1"]["retry"] != 1 || st.Actions["1"]["play"] != 0 {
		t.Fatalf("stats actions: %s", res.body)
	}
	for k := range st.Requests {
		if strings.Contains(k, "/7/") || strings.Contains(k, "/-/sim") {
			t.Errorf("stats key %q is not an API route template", k)
		}
	}

	admin(t, "POST", sim+"/reset", "").want(t, 204, "")
	do(t, "GET", url+"/api/v4/projects/7/jobs", "", auth("glpat-a")).want(t, 401, "")
	res = admin(t, "GET", sim+"/stats", "")
	var after Stats
	res.json(t, &after)
	if len(after.Requests) != 1 || after.TotalRequests != 1 { // only the 401 just above
		t.Fatalf("stats after reset: %s", res.body)
	}
	// Ids restart after a reset.
	res = admin(t, "POST", sim+"/users", `{"username":"bob"}`)
	res.json(t, &u)
	if u.ID != 1 || !strings.HasPrefix(u.Token, "glpat-") {
		t.Fatalf("user after reset: %s", res.body)
	}
}

func TestFaultsLoseTheResponseOfTheFirstRetryOnly(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed}}, nil)
	if err := w.s.SetFaults(Faults{LoseResponseRate: 1, Count: 1, Routes: []string{RouteRetry}}); err != nil {
		t.Fatal(err)
	}
	c := client(t, w.url, testToken)
	// Reads are untouched.
	if _, _, err := c.Jobs.GetJob(1, w.job("x")); err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.Jobs.RetryJob(1, w.job("x"))
	if err == nil || statusOf(resp) != http.StatusBadGateway {
		t.Fatalf("first retry: %v %d", err, statusOf(resp))
	}
	// The retry happened although the client saw 502: the old job is
	// retried, so a naive second retry is refused.
	old, _ := w.s.Job(w.job("x"))
	if !old.Retried {
		t.Fatal("a lost response must still perform the retry")
	}
	_, resp, _ = c.Jobs.RetryJob(1, w.job("x"))
	if statusOf(resp) != http.StatusForbidden {
		t.Fatalf("second retry: %d, want 403", statusOf(resp))
	}
	st := w.s.Stats()
	if st.Count(RouteRetry, 502) != 1 || st.Count(RouteRetry, 403) != 1 || st.Actions[w.job("x")].Retry != 1 {
		t.Fatalf("stats: %+v %+v", st.Requests, st.Actions)
	}
	if fs := w.s.FaultState(); !fs.Active || fs.Remaining != 0 {
		t.Fatalf("fault state: %+v", fs)
	}
}

// A fault limited to one project leaves the others' requests alone, and
// they do not use up its Count; Stats counts requests by project and job.
func TestFaultsLimitedToAProject(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed}}, nil)
	other, err := w.s.CreateProject(ProjectSpec{PathWithNamespace: "group/other"})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := w.s.CreatePipeline(PipelineSpec{ProjectID: other.ID, Username: "alice", Jobs: []JobSpec{{Name: "y", Status: StatusFailed}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.SetFaults(Faults{LoseResponseRate: 1, Count: 1, Routes: []string{RouteRetry}, Projects: []string{"group/other"}}); err != nil {
		t.Fatal(err)
	}
	c := client(t, w.url, testToken)
	if _, _, err := c.Jobs.RetryJob(w.project.ID, w.job("x")); err != nil {
		t.Fatalf("a retry in another project met the fault: %v", err)
	}
	// Named by id, the project is not the one the fault names.
	if _, _, err := c.Jobs.RetryJob(other.ID, pl.Jobs[0].ID); err != nil {
		t.Fatalf("a retry naming the project by id met the fault: %v", err)
	}
	if fs := w.s.FaultState(); fs.Remaining != 1 {
		t.Fatalf("fault state after the others' requests: %+v", fs)
	}
	_, resp, _ := c.Jobs.RetryJob("group/other", pl.Jobs[0].ID)
	if statusOf(resp) != http.StatusBadGateway {
		t.Fatalf("a retry naming the project by path: %d, want the fault's 502", statusOf(resp))
	}
	st := w.s.Stats()
	if got := st.ProjectRequests["group/other"][RouteRetry]; got != 1 {
		t.Errorf("requests naming group/other: %d, want 1", got)
	}
	if got := st.ProjectRequests[itoa(other.ID)][RouteRetry]; got != 1 {
		t.Errorf("requests naming project %d: %d, want 1", other.ID, got)
	}
	if got := st.JobRequests[pl.Jobs[0].ID][RouteRetry]; got != 2 {
		t.Errorf("retry requests for job %d: %d, want 2", pl.Jobs[0].ID, got)
	}
	if got := st.JobRequests[w.job("x")][RouteRetry]; got != 1 {
		t.Errorf("retry requests for job %d: %d, want 1", w.job("x"), got)
	}
}

func TestFaultsErrorWithoutPerforming(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed}}, nil)
	res := do(t, "POST", w.url+"/-/sim/faults", `{"error_rate":1,"error_status":503,"methods":["post"],"seed":3}`)
	if res.code != 200 {
		t.Fatalf("set faults: %d %s", res.code, res.body)
	}
	post(t, w, w.job("x"), "retry", "").want(t, 503, "")
	if j, _ := w.s.Job(w.job("x")); j.Retried {
		t.Fatal("an error fault must not perform the action")
	}
	do(t, "GET", w.url+"/api/v4/projects/1/jobs", "", auth(testToken)).want(t, 200, "")

	// 429 faults carry GitLab's throttle headers.
	if err := w.s.SetFaults(Faults{ErrorRate: 1, ErrorStatus: 429}); err != nil {
		t.Fatal(err)
	}
	res = do(t, "GET", w.url+"/api/v4/projects/1/jobs", "", auth(testToken))
	if res.code != 429 || res.header.Get("Retry-After") == "" || res.header.Get("RateLimit-Reset") == "" {
		t.Fatalf("429 fault: %d %v", res.code, res.header)
	}
	do(t, "DELETE", w.url+"/-/sim/faults", "").want(t, 204, "")
	post(t, w, w.job("x"), "retry", "").want(t, 201, "")
	if err := w.s.SetFaults(Faults{ErrorRate: 2}); err == nil {
		t.Fatal("error_rate 2 accepted")
	}
	do(t, "POST", w.url+"/-/sim/faults", `{"lose_response_rate":-1}`).want(t, 400, "")
}

func TestFaultDiceAreSeeded(t *testing.T) {
	run := func() []int {
		w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusSuccess}}, nil)
		_ = w.s.SetFaults(Faults{ErrorRate: 0.5, Seed: 7})
		var codes []int
		for i := 0; i < 20; i++ {
			codes = append(codes, do(t, "GET", w.url+"/api/v4/projects/1/jobs", "", auth(testToken)).code)
		}
		return codes
	}
	a, b := run(), run()
	if !equalInts(a, b) {
		t.Fatalf("seeded faults differ: %v %v", a, b)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStatsJSONShape(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "deploy", When: "manual"}}, nil)
	c := client(t, w.url, testToken)
	vars := []*gitlab.JobVariableOptions{{Key: gitlab.Ptr("K"), Value: gitlab.Ptr("V")}}
	if _, _, err := c.Jobs.PlayJob(1, w.job("deploy"), &gitlab.PlayJobOptions{JobVariablesAttributes: &vars}); err != nil {
		t.Fatal(err)
	}
	res := do(t, "GET", w.url+"/-/sim/stats", "")
	var raw map[string]json.RawMessage
	res.json(t, &raw)
	id := itoa(w.job("deploy"))
	if string(raw["actions"]) != `{"`+id+`":{"retry":0,"play":1,"cancel":0,"erase":0}}` ||
		string(raw["play_variables"]) != `{"`+id+`":[{"key":"K","value":"V"}]}` ||
		string(raw["requests"]) != `{"POST /api/v4/projects/:id/jobs/:job_id/play":{"200":1}}` {
		t.Fatalf("stats: %s", res.body)
	}
	do(t, "DELETE", w.url+"/-/sim/stats", "").want(t, 204, "")
	if st := w.s.Stats(); st.TotalRequests != 0 || len(st.Actions) != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestServingThroughHandlerUsesTheRequestHostOrTheSetBaseURL(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if _, err := s.CreateUser(UserSpec{Username: "alice", Token: testToken}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.CreateProject(ProjectSpec{PathWithNamespace: "group/app"})
	pl, _ := s.CreatePipeline(PipelineSpec{ProjectID: p.ID, Jobs: []JobSpec{{Name: "x"}}})
	var j struct {
		WebURL string `json:"web_url"`
	}
	do(t, "GET", ts.URL+"/api/v4/projects/1/jobs/"+itoa(pl.Jobs[0].ID), "", auth(testToken)).json(t, &j)
	if j.WebURL != ts.URL+"/group/app/-/jobs/"+itoa(pl.Jobs[0].ID) {
		t.Fatalf("web_url %q", j.WebURL)
	}
	s.SetBaseURL("https://gitlab.example.com/")
	do(t, "GET", ts.URL+"/api/v4/projects/1/jobs/"+itoa(pl.Jobs[0].ID), "", auth(testToken)).json(t, &j)
	if j.WebURL != "https://gitlab.example.com/group/app/-/jobs/"+itoa(pl.Jobs[0].ID) {
		t.Fatalf("web_url %q", j.WebURL)
	}
}
