package gitlabsim

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Answers where GitLab's own source (lib/api/ci/jobs.rb,
// app/services/ci/play_build_service.rb, Rack's query parser, Grape's
// router) differs from what a reader of the public docs would guess. See
// docs/gitlab-api.md.

func TestPlayOnAManualBridgeAnswers200WithTheBridge(t *testing.T) {
	w := newWorld(t, Options{}, nil, []BridgeSpec{
		{Name: "deploy-docs", When: "manual"},
		{Name: "trigger", Status: StatusSuccess},
	})
	c := client(t, w.url, testToken)
	j, resp, err := c.Jobs.PlayJob("group/app", w.job("deploy-docs"), nil)
	if err != nil || resp.StatusCode != http.StatusOK || j.ID != w.job("deploy-docs") || j.Status != StatusPending ||
		j.User == nil || j.User.Username != "alice" {
		t.Fatalf("play bridge: %v %d %+v", err, statusOf(resp), j)
	}
	// The simulator records the bridge as enqueued.
	if j, _ := w.s.Job(w.job("deploy-docs")); j.Kind != "bridge" || j.Status != StatusPending {
		t.Fatalf("bridge after play: %+v", j)
	}
	res := post(t, w, w.job("trigger"), "play", "")
	res.want(t, 400, `{"message":"400 Bad request - Unplayable Job"}`)
	again := do(t, "POST", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("deploy-docs"))+"/play", "", auth(testToken))
	again.want(t, 400, `{"message":"400 Bad request - Unplayable Job"}`)
}

func TestPlayAnswersWithTheBridgeEntity(t *testing.T) {
	w := newWorld(t, Options{}, nil, []BridgeSpec{{Name: "deploy-docs", When: "manual"}})
	res := post(t, w, w.job("deploy-docs"), "play", "")
	if res.code != 200 || !strings.Contains(res.body, `"downstream_pipeline":null`) || strings.Contains(res.body, `"runner"`) ||
		strings.Contains(res.body, `"artifacts"`) {
		t.Fatalf("play bridge: %d %s", res.code, res.body)
	}
}

func TestPlayOfAManualJobThatRanAnswersTheJobUnchangedAndMakesANewAttempt(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "deploy", When: "manual", Status: StatusFailed, FailureReason: ReasonScriptFailure},
		{Name: "smoke", When: "manual", Status: StatusCanceled},
	}, nil)
	c := client(t, w.url, testToken)
	for _, name := range []string{"deploy", "smoke"} {
		before, _, err := c.Jobs.GetJob("group/app", w.job(name))
		if err != nil {
			t.Fatal(err)
		}
		got, resp, err := c.Jobs.PlayJob("group/app", w.job(name), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("play %s: %v %d", name, err, statusOf(resp))
		}
		if got.ID != before.ID || got.Status != before.Status || got.FailureReason != before.FailureReason ||
			!got.FinishedAt.Equal(*before.FinishedAt) {
			t.Errorf("play %s answered %+v, want the job as it was: %+v", name, got, before)
		}
		n, ok := w.s.LatestAttempt(w.pl.ID, name)
		if !ok || n.ID == before.ID || n.RetryOf != before.ID || n.Status != StatusPending || n.When != "manual" {
			t.Errorf("play %s: new attempt %+v", name, n)
		}
		// The new attempt is the one the pipeline lists by default.
		jobs, _, err := c.Jobs.ListPipelineJobs("group/app", w.pl.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(jobs, func(j *gitlab.Job) bool { return j.ID == n.ID }) ||
			slices.ContainsFunc(jobs, func(j *gitlab.Job) bool { return j.ID == before.ID }) {
			t.Errorf("pipeline jobs after play of %s do not list the new attempt alone", name)
		}
	}
	if st := w.s.Stats(); st.Actions[w.job("deploy")].Play != 1 || st.Actions[w.job("deploy")].Retry != 0 {
		t.Errorf("a play that retries counts as a play of the job asked for: %+v", st.Actions)
	}
}

func TestPlayabilityFollowsWhenNotTheCurrentStatus(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "manual-ran", When: "manual", Status: StatusSuccess},
		{Name: "manual-created", When: "manual", Status: StatusCreated},
		{Name: "manual-pending", When: "manual", Status: StatusPending},
		{Name: "manual-skipped", When: "manual", Status: StatusSkipped},
		{Name: "auto-ran", Status: StatusSuccess},
		{Name: "status-manual", Status: StatusManual},
	}, nil)
	for name, code := range map[string]int{
		"manual-ran": 200, "manual-created": 400, "manual-pending": 400, "manual-skipped": 400,
		"auto-ran": 400, "status-manual": 200,
	} {
		if got := post(t, w, w.job(name), "play", "").code; got != code {
			t.Errorf("play %s: %d, want %d", name, got, code)
		}
	}
	if j, _ := w.s.Job(w.job("status-manual")); j.When != "manual" {
		t.Errorf("a job created in status manual has when %q, want manual", j.When)
	}
	if _, err := w.s.CreatePipeline(PipelineSpec{ProjectID: 1, Jobs: []JobSpec{{Name: "x", When: "on_success", Status: StatusManual}}}); err == nil {
		t.Error("a when: on_success job in status manual was accepted")
	}
}

func TestAllowedAgentsListsEveryRoleUpToTheUsers(t *testing.T) {
	s, url := start(t, Options{})
	for _, u := range []string{"maint", "rep"} {
		if _, err := s.CreateUser(UserSpec{Username: u, Token: "glpat-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.CreateProject(ProjectSpec{PathWithNamespace: "g/app", Members: []MemberSpec{
		{Username: "maint", Role: "maintainer"}, {Username: "rep", Role: "reporter"}}})
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string][]string{
		"maint": {"guest", "planner", "reporter", "developer", "maintainer"},
		"rep":   {"guest", "planner", "reporter"},
	} {
		pl, err := s.CreatePipeline(PipelineSpec{ProjectID: p.ID, Username: user, Jobs: []JobSpec{{Name: "run", Status: StatusRunning}}})
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := s.JobToken(pl.Jobs[0].ID)
		var got struct {
			User map[string]any `json:"user"`
		}
		res := do(t, "GET", url+"/api/v4/job/allowed_agents", "", "JOB-TOKEN: "+tok)
		res.json(t, &got)
		var roles []string
		for _, r := range got.User["roles_in_project"].([]any) {
			roles = append(roles, r.(string))
		}
		if res.code != 200 || !slices.Equal(roles, want) {
			t.Errorf("%s: roles_in_project %v, want %v", user, roles, want)
		}
		// GitLab shows only id, username and roles here, not the user entity.
		if len(got.User) != 3 || got.User["username"] != user {
			t.Errorf("%s: user %v, want id, username and roles_in_project only", user, got.User)
		}
	}
}

func TestARepeatedPlainQueryKeyKeepsOnlyTheLastValue(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "f", Status: StatusFailed},
		{Name: "s", Status: StatusSuccess},
		{Name: "r", Status: StatusRunning},
	}, nil)
	names := func(query string) []string {
		t.Helper()
		var jobs []struct{ Name string }
		res := do(t, "GET", w.url+"/api/v4/projects/1/jobs?"+query, "", auth(testToken))
		if res.code != 200 {
			t.Fatalf("%s: %d %s", query, res.code, res.body)
		}
		res.json(t, &jobs)
		var out []string
		for _, j := range jobs {
			out = append(out, j.Name)
		}
		return out
	}
	for query, want := range map[string][]string{
		"scope=failed&scope=success":         {"s"},
		"scope[]=failed&scope[]=success":     {"s", "f"},
		"scope%5B%5D=failed&scope=running":   {"r"}, // a plain key replaces the array before it
		"scope[a]=failed&scope[b]=running":   {"r", "f"},
		"per_page=1&per_page=3&scope=failed": {"f"},
	} {
		if got := names(query); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	// Rack cannot append to a string: GitLab answers conflicting types.
	do(t, "GET", w.url+"/api/v4/projects/1/jobs?scope=failed&scope[]=success", "", auth(testToken)).
		want(t, 400, `{"error":"query params contains conflicting types"}`)
	do(t, "GET", w.url+"/api/v4/projects/1/pipelines/1/jobs?scope=failed&scope=success", "", auth(testToken)).want(t, 200, "")
}

func TestPerPageZeroIsAValidationError(t *testing.T) {
	w := newWorld(t, Options{}, manyJobs(25, StatusSuccess), nil)
	for _, path := range []string{"/projects/1/jobs", "/projects/1/pipelines/1/jobs", "/projects/1/pipelines/1/bridges"} {
		do(t, "GET", w.url+"/api/v4"+path+"?per_page=0", "", auth(testToken)).
			want(t, 400, `{"error":"per_page has a value not allowed"}`)
		do(t, "GET", w.url+"/api/v4"+path+"?per_page=00", "", auth(testToken)).
			want(t, 400, `{"error":"per_page has a value not allowed"}`)
	}
	// Below zero passes validation; Kaminari then uses the default of 20.
	res := do(t, "GET", w.url+"/api/v4/projects/1/jobs?per_page=-1", "", auth(testToken))
	if res.code != 200 || res.header.Get("X-Per-Page") != "20" {
		t.Fatalf("per_page=-1: %d %v", res.code, res.header)
	}
	c := client(t, w.url, testToken)
	_, resp, err := c.Jobs.ListProjectJobs("group/app", &gitlab.ListJobsOptions{ListOptions: gitlab.ListOptions{PerPage: 0, Page: 1}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the client omits per_page=0, so it is never sent: %v", err)
	}
}

func TestAWrongMethodOnARealRouteIs405WithGrapesAllowHeader(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "f", Status: StatusFailed}}, nil)
	api := w.url + "/api/v4"
	job := api + "/projects/1/jobs/" + itoa(w.job("f"))
	for _, tc := range []struct {
		method, url, allow string
	}{
		{"GET", job + "/retry", "OPTIONS, POST"},
		{"PUT", job + "/play", "OPTIONS, POST"},
		{"DELETE", job, "OPTIONS, GET, HEAD"},
		{"POST", api + "/projects/1/jobs", "OPTIONS, GET, HEAD"},
		{"POST", api + "/projects/group%2Fapp/pipelines/1/jobs", "OPTIONS, GET, HEAD"},
		{"PATCH", api + "/user", "OPTIONS, GET, HEAD"},
	} {
		res := do(t, tc.method, tc.url, "", auth(testToken))
		if res.code != http.StatusMethodNotAllowed || res.body != `{"error":"405 Not Allowed"}` ||
			res.header.Get("Allow") != tc.allow || res.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s Allow %q, want 405 Allow %q", tc.method, tc.url, res.code, res.body, res.header.Get("Allow"), tc.allow)
		}
	}
	// The route's authentication runs first: no credentials is still 401.
	do(t, "GET", job+"/retry", "").want(t, 401, `{"message":"401 Unauthorized"}`)
	// OPTIONS answers the methods.
	res := do(t, "OPTIONS", job+"/retry", "", auth(testToken))
	if res.code != http.StatusNoContent || res.header.Get("Allow") != "OPTIONS, POST" {
		t.Errorf("OPTIONS: %d Allow %q", res.code, res.header.Get("Allow"))
	}
	// A path that is no route stays 404, and nothing was retried.
	do(t, "GET", job+"/nothing", "", auth(testToken)).want(t, 404, `{"error":"404 Not Found"}`)
	if st := w.s.Stats(); st.Actions[w.job("f")].Retry != 0 || st.Count(RouteUnmatched, 405) != 6 {
		t.Errorf("stats: %+v", st)
	}
}
