package gitlabsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Raw HTTP: what a client library hides (exact codes, bodies, headers,
// absent versus null fields).

func TestErrorBodiesAreGitLabs(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "running", Status: StatusRunning},
		{Name: "ok", Status: StatusSuccess},
		{Name: "deploy", When: "manual"},
	}, []BridgeSpec{{Name: "bridge", Status: StatusSuccess}})
	if _, err := w.s.CreateUser(UserSpec{Username: "bob", Token: "glpat-bob"}); err != nil {
		t.Fatal(err)
	}
	tok, _ := w.s.JobToken(w.job("running"))
	api := w.url + "/api/v4"
	a := auth(testToken)
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		code                     int
		want                     string
	}{
		{"no credentials", "GET", "/projects/1/jobs", "", nil, 401, `{"message":"401 Unauthorized"}`},
		{"unknown token", "GET", "/projects/1/jobs", "", []string{auth("nope")}, 401, `{"message":"401 Unauthorized"}`},
		{"unknown bearer", "GET", "/user", "", []string{"Authorization: Bearer nope"}, 401, `{"message":"401 Unauthorized"}`},
		{"anonymous version", "GET", "/version", "", nil, 401, `{"message":"401 Unauthorized"}`},
		{"job token on GET job", "GET", "/projects/1/jobs/" + itoa(w.job("ok")), "", []string{"JOB-TOKEN: " + tok}, 401, `{"message":"401 Unauthorized"}`},
		{"job token as bearer on retry", "POST", "/projects/1/jobs/" + itoa(w.job("ok")) + "/retry", "", []string{"Authorization: Bearer " + tok}, 401, `{"message":"401 Unauthorized"}`},
		{"job token on /user", "GET", "/user", "", []string{"JOB-TOKEN: " + tok}, 401, `{"message":"401 Unauthorized"}`},
		{"unknown project", "GET", "/projects/42/jobs", "", []string{a}, 404, `{"message":"404 Project Not Found"}`},
		{"unknown project path", "GET", "/projects/group%2Fnope/jobs", "", []string{a}, 404, `{"message":"404 Project Not Found"}`},
		{"unknown job", "GET", "/projects/1/jobs/999", "", []string{a}, 404, `{"message":"404 Not found"}`},
		{"bridge is not a job", "GET", "/projects/1/jobs/" + itoa(w.job("bridge")), "", []string{a}, 404, `{"message":"404 Not found"}`},
		{"unknown pipeline", "GET", "/projects/1/pipelines/999/jobs", "", []string{a}, 404, `{"message":"404 Not found"}`},
		{"unknown pipeline bridges", "GET", "/projects/1/pipelines/999/bridges", "", []string{a}, 404, `{"message":"404 Not found"}`},
		{"GET /job with a personal token", "GET", "/job", "", []string{a}, 404, `{"message":"404 Job Not Found"}`},
		{"allowed_agents with a personal token", "GET", "/job/allowed_agents", "", []string{a}, 404, `{"message":"404 Job Not Found"}`},
		{"GET /job anonymous", "GET", "/job", "", nil, 401, `{"message":"401 Unauthorized"}`},
		{"invalid scope", "GET", "/projects/1/jobs?scope=bogus", "", []string{a}, 400, `{"error":"scope does not have a valid value"}`},
		{"invalid scope[]", "GET", "/projects/1/jobs?scope[]=failed&scope[]=bogus", "", []string{a}, 400, `{"error":"scope does not have a valid value"}`},
		{"hash scope on pipeline jobs", "GET", "/projects/1/pipelines/1/jobs?scope[x]=failed", "", []string{a}, 400, `{"error":"scope is invalid"}`},
		{"bad page", "GET", "/projects/1/jobs?page=abc", "", []string{a}, 400, `{"error":"page is invalid"}`},
		{"bad per_page", "GET", "/projects/1/jobs?per_page=1.5", "", []string{a}, 400, `{"error":"per_page is invalid"}`},
		{"bad include_retried", "GET", "/projects/1/pipelines/1/jobs?include_retried=maybe", "", []string{a}, 400, `{"error":"include_retried is invalid"}`},
		{"bad pagination", "GET", "/projects/1/jobs?pagination=cursor", "", []string{a}, 400, `{"error":"pagination does not have a valid value"}`},
		{"bad cursor", "GET", "/projects/1/jobs?pagination=keyset&cursor=%21%21", "", []string{a}, 400, `{"message":"400 Bad request - Invalid cursor value"}`},
		{"bad job id", "GET", "/projects/1/jobs/abc", "", []string{a}, 400, `{"error":"job_id is invalid"}`},
		{"bad pipeline id", "GET", "/projects/1/pipelines/x/jobs", "", []string{a}, 400, `{"error":"pipeline_id is invalid"}`},
		{"keyset by created_at", "GET", "/projects/1/jobs?pagination=keyset&order_by=created_at", "", []string{a}, 405, `{"error":"Keyset pagination is not yet available for this type of request"}`},
		{"keyset ascending", "GET", "/projects/1/jobs?pagination=keyset&order_by=id&sort=asc", "", []string{a}, 405, `{"error":"Keyset pagination is not yet available for this type of request"}`},
		{"keyset on pipeline jobs", "GET", "/projects/1/pipelines/1/jobs?pagination=keyset", "", []string{a}, 405, `{"error":"Keyset pagination is not yet available for this type of request"}`},
		{"retry running", "POST", "/projects/1/jobs/" + itoa(w.job("running")) + "/retry", "", []string{a}, 403, `{"message":"403 Forbidden - Job is not retryable"}`},
		{"erase running", "POST", "/projects/1/jobs/" + itoa(w.job("running")) + "/erase", "", []string{a}, 403, `{"message":"403 Forbidden - Job is not erasable!"}`},
		{"play non-manual", "POST", "/projects/1/jobs/" + itoa(w.job("ok")) + "/play", "", []string{a}, 400, `{"message":"400 Bad request - Unplayable Job"}`},
		{"play variable without key", "POST", "/projects/1/jobs/" + itoa(w.job("deploy")) + "/play",
			`{"job_variables_attributes":[{"value":"V"}]}`, []string{a}, 400, `{"error":"job_variables_attributes[0][key] is missing"}`},
		{"play variable without value", "POST", "/projects/1/jobs/" + itoa(w.job("deploy")) + "/play",
			`{"job_variables_attributes":[{"key":"K","value":"V"},{"key":"K2"}]}`, []string{a}, 400, `{"error":"job_variables_attributes[1][value] is missing"}`},
		{"play variables not a list", "POST", "/projects/1/jobs/" + itoa(w.job("deploy")) + "/play",
			`{"job_variables_attributes":{"key":"K"}}`, []string{a}, 400, `{"error":"job_variables_attributes is invalid"}`},
		{"unknown route", "GET", "/projects/1/nothing", "", []string{a}, 404, `{"error":"404 Not Found"}`},
		// Order of checks: authentication, then validation, then lookup.
		{"401 before 400", "GET", "/projects/1/jobs?scope=bogus", "", []string{auth("nope")}, 401, `{"message":"401 Unauthorized"}`},
		{"400 before 404", "GET", "/projects/42/jobs?scope=bogus", "", []string{a}, 400, `{"error":"scope does not have a valid value"}`},
		{"400 before 404 on play", "POST", "/projects/42/jobs/1/play", `{"job_variables_attributes":[{}]}`, []string{a}, 400,
			`{"error":"job_variables_attributes[0][key] is missing, job_variables_attributes[0][value] is missing"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do(t, tc.method, api+tc.path, tc.body, tc.headers...).want(t, tc.code, tc.want)
		})
	}
}

func TestAccessRolesGive404And403(t *testing.T) {
	s, url := start(t, Options{})
	for _, u := range []string{"owner", "viewer", "guest", "stranger"} {
		if _, err := s.CreateUser(UserSpec{Username: u, Token: "glpat-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.CreateProject(ProjectSpec{PathWithNamespace: "secret/app", Members: []MemberSpec{
		{Username: "owner", Role: "maintainer"}, {Username: "viewer", Role: "reporter"}, {Username: "guest", Role: "guest"}}})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := s.CreatePipeline(PipelineSpec{ProjectID: p.ID, Jobs: []JobSpec{{Name: "x", Status: StatusFailed}}})
	if err != nil {
		t.Fatal(err)
	}
	jobs := url + "/api/v4/projects/secret%2Fapp/jobs"
	retry := jobs + "/" + itoa(pl.Jobs[0].ID) + "/retry"
	do(t, "GET", jobs, "", auth("glpat-stranger")).want(t, 404, `{"message":"404 Project Not Found"}`)
	do(t, "GET", jobs, "", auth("glpat-guest")).want(t, 403, `{"message":"403 Forbidden"}`)
	do(t, "GET", jobs, "", auth("glpat-viewer")).want(t, 200, "")
	do(t, "POST", retry, "", auth("glpat-viewer")).want(t, 403, `{"message":"403 Forbidden"}`)
	do(t, "POST", retry, "", auth("glpat-owner")).want(t, 201, "")
}

func TestOffsetPaginationHeaders(t *testing.T) {
	w := newWorld(t, Options{}, manyJobs(5, StatusSuccess), nil)
	base := w.url + "/api/v4/projects/group%2Fapp"

	res := do(t, "GET", base+"/jobs?per_page=2&page=2", "", auth(testToken))
	h := res.header
	if h.Get("X-Page") != "2" || h.Get("X-Per-Page") != "2" || h.Get("X-Next-Page") != "3" || h.Get("X-Prev-Page") != "1" {
		t.Errorf("page headers: %v", h)
	}
	if _, ok := h["X-Total"]; ok {
		t.Errorf("project jobs list must not send X-Total: %v", h)
	}
	if _, ok := h["X-Total-Pages"]; ok {
		t.Errorf("project jobs list must not send X-Total-Pages")
	}
	link := h.Get("Link")
	if !strings.Contains(link, `rel="prev"`) || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, `rel="first"`) ||
		strings.Contains(link, `rel="last"`) || !strings.Contains(link, base+"/jobs?page=3&per_page=2") {
		t.Errorf("Link: %s", link)
	}

	// Last page: the next headers are present and empty.
	res = do(t, "GET", base+"/jobs?per_page=2&page=3", "", auth(testToken))
	if v, ok := res.header["X-Next-Page"]; !ok || v[0] != "" || strings.Contains(res.header.Get("Link"), `rel="next"`) {
		t.Errorf("last page: %v", res.header)
	}
	var got []map[string]any
	res.json(t, &got)
	if len(got) != 1 {
		t.Errorf("last page has %d jobs", len(got))
	}
	// First page: X-Prev-Page present and empty.
	res = do(t, "GET", base+"/jobs?per_page=2", "", auth(testToken))
	if v, ok := res.header["X-Prev-Page"]; !ok || v[0] != "" {
		t.Errorf("first page: %v", res.header)
	}

	// Pipeline endpoints give totals and rel="last".
	res = do(t, "GET", base+"/pipelines/"+itoa(w.pl.ID)+"/jobs?per_page=2", "", auth(testToken))
	h = res.header
	if h.Get("X-Total") != "5" || h.Get("X-Total-Pages") != "3" || h.Get("X-Next-Page") != "2" ||
		!strings.Contains(h.Get("Link"), `page=3&per_page=2>; rel="last"`) {
		t.Errorf("pipeline headers: %v", h)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestKeysetLinkOnlyWhenThereIsANextPage(t *testing.T) {
	w := newWorld(t, Options{}, manyJobs(5, StatusSuccess), nil)
	next := w.url + "/api/v4/projects/group%2Fapp/jobs?pagination=keyset&per_page=2&order_by=id&sort=desc"
	var seen []int64
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("keyset pages never end")
		}
		res := do(t, "GET", next, "", auth(testToken))
		var jobs []struct{ ID int64 }
		res.json(t, &jobs)
		for _, j := range jobs {
			seen = append(seen, j.ID)
		}
		next = ""
		if l := res.header.Get("Link"); l != "" {
			m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(l)
			if m == nil || !strings.Contains(m[1], "cursor=") {
				t.Fatalf("Link %q", l)
			}
			next = m[1]
		}
		if _, ok := res.header["X-Total"]; ok {
			t.Fatal("keyset pages carry no totals")
		}
	}
	if len(seen) != 5 || seen[0] != w.pl.Jobs[4].ID || seen[4] != w.pl.Jobs[0].ID {
		t.Fatalf("keyset walk: %v", seen)
	}
}

func TestTraceHeaders(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed, Trace: "hello\n"}, {Name: "y", Status: StatusSuccess}}, nil)
	for name, want := range map[string]string{"x": "hello\n", "y": ""} {
		res := do(t, "GET", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job(name))+"/trace", "", auth(testToken))
		if res.code != 200 || res.body != want || res.header.Get("Content-Type") != "text/plain" ||
			res.header.Get("Content-Disposition") != `infile; filename="`+itoa(w.job(name))+`.log"` {
			t.Errorf("trace %s: %d %q %v", name, res.code, res.body, res.header)
		}
	}
}

var msTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestJobObjectFieldsAbsentNullOrSet(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "pending", Status: StatusPending},
		{Name: "failed", Status: StatusFailed, FailureReason: ReasonStuckOrTimeoutFailure, Artifacts: true, Trace: "log"},
		{Name: "ok", Status: StatusSuccess},
	}, []BridgeSpec{{Name: "bridge", Status: StatusPending}})
	get := func(path string) map[string]json.RawMessage {
		res := do(t, "GET", w.url+"/api/v4/projects/1"+path, "", auth(testToken))
		if res.code != 200 {
			t.Fatalf("%s: %d %s", path, res.code, res.body)
		}
		var m map[string]json.RawMessage
		res.json(t, &m)
		return m
	}
	pending := get("/jobs/" + itoa(w.job("pending")))
	for _, k := range []string{"started_at", "finished_at", "erased_at", "duration", "coverage", "runner", "artifacts_expire_at"} {
		if string(pending[k]) != "null" {
			t.Errorf("pending %s = %s, want null", k, pending[k])
		}
	}
	for _, k := range []string{"failure_reason", "artifacts_file", "downstream_pipeline"} {
		if _, ok := pending[k]; ok {
			t.Errorf("pending job has %s", k)
		}
	}
	if string(pending["artifacts"]) != "[]" || string(pending["tag_list"]) != "[]" {
		t.Errorf("pending artifacts %s tag_list %s", pending["artifacts"], pending["tag_list"])
	}
	var created string
	_ = json.Unmarshal(pending["created_at"], &created)
	if !msTime.MatchString(created) {
		t.Errorf("created_at %q is not UTC with milliseconds", created)
	}
	var web string
	_ = json.Unmarshal(pending["web_url"], &web)
	if web != w.url+"/group/app/-/jobs/"+itoa(w.job("pending")) {
		t.Errorf("web_url %q", web)
	}

	failed := get("/jobs/" + itoa(w.job("failed")))
	if string(failed["failure_reason"]) != `"stuck_or_timeout_failure"` || string(failed["artifacts_file"]) != `{"filename":"artifacts.zip","size":1000}` {
		t.Errorf("failed: reason %s artifacts_file %s", failed["failure_reason"], failed["artifacts_file"])
	}
	for _, k := range []string{"started_at", "finished_at", "artifacts_expire_at"} {
		var v string
		if err := json.Unmarshal(failed[k], &v); err != nil || !msTime.MatchString(v) {
			t.Errorf("failed %s = %s", k, failed[k])
		}
	}
	if _, ok := get("/jobs/" + itoa(w.job("ok")))["failure_reason"]; ok {
		t.Error("a successful job has no failure_reason key")
	}

	res := do(t, "GET", w.url+"/api/v4/projects/1/pipelines/"+itoa(w.pl.ID)+"/bridges", "", auth(testToken))
	var bridges []map[string]json.RawMessage
	res.json(t, &bridges)
	if len(bridges) != 1 || string(bridges[0]["downstream_pipeline"]) != "null" {
		t.Fatalf("bridges: %s", res.body)
	}
	for _, k := range []string{"artifacts", "runner", "tag_list", "artifacts_file"} {
		if _, ok := bridges[0][k]; ok {
			t.Errorf("bridge has %s", k)
		}
	}

	// Erase: erased_at set, artifacts empty, artifacts_expire_at null.
	res = do(t, "POST", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("failed"))+"/erase", "", auth(testToken))
	var erased map[string]json.RawMessage
	res.json(t, &erased)
	if res.code != 201 || string(erased["erased_at"]) == "null" || string(erased["artifacts"]) != "[]" ||
		string(erased["artifacts_expire_at"]) != "null" {
		t.Fatalf("erase: %d %s", res.code, res.body)
	}
	if _, ok := erased["artifacts_file"]; ok {
		t.Error("erased job still has artifacts_file")
	}
}

func TestRateLimitOfProjectJobsListPerUser(t *testing.T) {
	w := newWorld(t, Options{JobsRateLimitPerMinute: 3}, []JobSpec{{Name: "x"}}, nil)
	if _, err := w.s.CreateUser(UserSpec{Username: "bob", Token: "glpat-bob"}); err != nil {
		t.Fatal(err)
	}
	list := w.url + "/api/v4/projects/1/jobs"
	for i := 0; i < 3; i++ {
		do(t, "GET", list, "", auth(testToken)).want(t, 200, "")
	}
	res := do(t, "GET", list, "", auth(testToken))
	res.want(t, 429, `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`)
	for _, h := range []string{"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if res.header.Get(h) == "" {
			t.Errorf("429 without %s", h)
		}
	}
	// Rate limit comes before the project lookup, after validation.
	do(t, "GET", w.url+"/api/v4/projects/404/jobs", "", auth(testToken)).want(t, 429, "")
	do(t, "GET", list+"?scope=bogus", "", auth(testToken)).want(t, 400, "")
	// Per user: bob is not limited, and other routes are not limited.
	do(t, "GET", list, "", auth("glpat-bob")).want(t, 200, "")
	do(t, "GET", w.url+"/api/v4/projects/1/pipelines/1/jobs", "", auth(testToken)).want(t, 200, "")
	// Turned off at run time.
	w.s.SetJobsRateLimit(0)
	do(t, "GET", list, "", auth(testToken)).want(t, 200, "")
}

func TestQueryTokenForms(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "run", Status: StatusRunning}}, nil)
	tok, _ := w.s.JobToken(w.job("run"))
	do(t, "GET", w.url+"/api/v4/projects/1/jobs?private_token="+testToken, "").want(t, 200, "")
	do(t, "GET", w.url+"/api/v4/job?job_token="+tok, "").want(t, 200, "")
	do(t, "GET", w.url+"/api/v4/projects/1/jobs?job_token="+tok, "").want(t, 200, "")
	do(t, "GET", w.url+"/api/v4/projects/1/pipelines/1/jobs", "", "Authorization: Bearer "+tok).want(t, 200, "")
	do(t, "GET", w.url+"/api/v4/projects/1/pipelines/1/bridges?job_token="+tok, "").want(t, 401, "")
	do(t, "GET", w.url+"/api/v4/version?job_token="+tok, "").want(t, 401, "")
}

func TestPlayAcceptsFormVariables(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "deploy", When: "manual"}}, nil)
	req, _ := http.NewRequest("POST", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("deploy"))+"/play",
		strings.NewReader("job_variables_attributes[0][key]=A&job_variables_attributes[0][value]=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("PRIVATE-TOKEN", testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	j, _ := w.s.Job(w.job("deploy"))
	if res.StatusCode != 200 || len(j.Variables) != 1 || j.Variables[0] != (Variable{"A", "1"}) {
		t.Fatalf("form play: %d %+v", res.StatusCode, j.Variables)
	}
}

func TestLargeTraceIsStreamedWhole(t *testing.T) {
	const size = 4 << 20
	w := newWorld(t, Options{}, []JobSpec{{Name: "big", Status: StatusFailed, Trace: "first line", TraceBytes: size}}, nil)
	res := do(t, "GET", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("big"))+"/trace", "", auth(testToken))
	if res.code != 200 || len(res.body) != size || !strings.HasPrefix(res.body, "first line\nfiller line 0:") {
		t.Fatalf("trace: %d, %d bytes, starts %.40q", res.code, len(res.body), res.body)
	}
	if res.header.Get("Content-Length") != "" {
		t.Errorf("a large trace should be streamed (chunked), got Content-Length %s", res.header.Get("Content-Length"))
	}
}

func TestProjectJobsIncludeRetriedAttempts(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed}}, nil)
	res := post(t, w, w.job("x"), "retry", "")
	var n struct{ ID int64 }
	res.json(t, &n)
	var jobs []struct {
		ID     int64
		Status string
	}
	do(t, "GET", w.url+"/api/v4/projects/1/jobs", "", auth(testToken)).json(t, &jobs)
	if len(jobs) != 2 || jobs[0].ID != n.ID || jobs[0].Status != StatusPending || jobs[1].ID != w.job("x") || jobs[1].Status != StatusFailed {
		t.Fatalf("project jobs after a retry: %+v", jobs)
	}
	var pl []struct{ ID int64 }
	do(t, "GET", w.url+"/api/v4/projects/1/pipelines/"+itoa(w.pl.ID)+"/jobs", "", auth(testToken)).json(t, &pl)
	if len(pl) != 1 || pl[0].ID != n.ID {
		t.Fatalf("pipeline jobs hide the retried attempt: %+v", pl)
	}
}
