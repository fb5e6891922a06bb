package gitlabsim

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Conformance: the real GitLab Go client, which nobody here wrote, drives
// every endpoint and must understand every answer.

func TestClientListsProjectJobsByScope(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "a", Status: StatusFailed, FailureReason: ReasonScriptFailure},
		{Name: "b", Status: StatusSuccess},
		{Name: "c", Status: StatusRunning},
		{Name: "d", Status: StatusWaitingForCallback},
		{Name: "e", Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure},
	}, []BridgeSpec{{Name: "bridge", Status: StatusFailed}})
	c := client(t, w.url, testToken)

	for _, tc := range []struct {
		scope []gitlab.BuildStateValue
		want  []string
	}{
		{nil, []string{"e", "d", "c", "b", "a"}}, // builds only: no bridge
		{[]gitlab.BuildStateValue{gitlab.Failed}, []string{"e", "a"}},
		{[]gitlab.BuildStateValue{gitlab.Running, gitlab.Success}, []string{"c", "b"}},
		{[]gitlab.BuildStateValue{"waiting_for_callback"}, []string{"d"}},
		{[]gitlab.BuildStateValue{gitlab.Canceled}, []string{}},
	} {
		opts := &gitlab.ListJobsOptions{}
		if tc.scope != nil {
			opts.Scope = &tc.scope
		}
		jobs, resp, err := c.Jobs.ListProjectJobs("group/app", opts)
		if err != nil {
			t.Fatalf("scope %v: %v", tc.scope, err)
		}
		got := []string{}
		for _, j := range jobs {
			got = append(got, j.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("scope %v: got %v, want %v", tc.scope, got, tc.want)
		}
		if resp.TotalItems != 0 || resp.TotalPages != 0 {
			t.Errorf("project jobs list must not give totals, got %d/%d", resp.TotalItems, resp.TotalPages)
		}
	}
	jobs, _, err := c.Jobs.ListProjectJobs(w.project.ID, &gitlab.ListJobsOptions{Scope: &[]gitlab.BuildStateValue{gitlab.Failed}})
	if err != nil || len(jobs) != 2 || jobs[0].FailureReason != ReasonRunnerSystemFailure {
		t.Fatalf("by numeric id: %v %+v", err, jobs)
	}
}

func TestClientWalksOffsetAndKeysetPagesOfAThousandJobs(t *testing.T) {
	w := newWorld(t, Options{}, manyJobs(1000, StatusSuccess), nil)
	c := client(t, w.url, testToken)
	want := make([]int64, 0, 1000)
	for i := len(w.pl.Jobs) - 1; i >= 0; i-- {
		want = append(want, w.pl.Jobs[i].ID)
	}

	walk := func(opts *gitlab.ListJobsOptions) ([]int64, int) {
		var ids []int64
		pages := 0
		for j, err := range gitlab.Scan2(func(p gitlab.PaginationOptionFunc) ([]*gitlab.Job, *gitlab.Response, error) {
			pages++
			return c.Jobs.ListProjectJobs("group/app", opts, p)
		}) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, j.ID)
		}
		return ids, pages
	}

	keyset, pages := walk(&gitlab.ListJobsOptions{ListOptions: gitlab.ListOptions{
		Pagination: "keyset", PerPage: 100, OrderBy: "id", Sort: "desc"}})
	if !slices.Equal(keyset, want) {
		t.Fatalf("keyset walk: got %d ids (first %v), want all 1000 once in id order descending", len(keyset), keyset[:min(3, len(keyset))])
	}
	if pages != 10 {
		t.Errorf("keyset walk took %d pages, want 10 (no empty extra page)", pages)
	}

	offset, pages := walk(&gitlab.ListJobsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}})
	if !slices.Equal(offset, want) {
		t.Fatalf("offset walk: got %d ids, want all 1000 once in id order descending", len(offset))
	}
	if pages != 10 {
		t.Errorf("offset walk took %d pages, want 10", pages)
	}

	// Keyset with the default order (no order_by/sort given) is allowed too.
	jobs, resp, err := c.Jobs.ListProjectJobs("group/app", &gitlab.ListJobsOptions{ListOptions: gitlab.ListOptions{Pagination: "keyset", PerPage: 7}})
	if err != nil || len(jobs) != 7 || resp.NextLink == "" || jobs[0].ID != want[0] {
		t.Fatalf("keyset default order: %v, %d jobs, next %q", err, len(jobs), resp.NextLink)
	}
}

func TestClientListsPipelineJobsWithAndWithoutRetried(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "build", Status: StatusSuccess},
		{Name: "rspec", Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure},
	}, nil)
	c := client(t, w.url, testToken)
	retried, _, err := c.Jobs.RetryJob("group/app", w.job("rspec"))
	if err != nil {
		t.Fatal(err)
	}

	jobs, resp, err := c.Jobs.ListPipelineJobs("group/app", w.pl.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != retried.ID || jobs[1].Name != "build" {
		t.Fatalf("latest jobs: %+v", jobs)
	}
	if resp.TotalItems != 2 || resp.TotalPages != 1 || resp.CurrentPage != 1 {
		t.Errorf("pipeline jobs need totals: %d items %d pages page %d", resp.TotalItems, resp.TotalPages, resp.CurrentPage)
	}

	all, resp, err := c.Jobs.ListPipelineJobs("group/app", w.pl.ID, &gitlab.ListJobsOptions{IncludeRetried: gitlab.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range all {
		names = append(names, j.Name)
	}
	if !slices.Equal(names, []string{"rspec", "rspec", "build"}) || all[1].ID != w.job("rspec") || all[1].Status != StatusFailed {
		t.Fatalf("with retried: %v", names)
	}
	if resp.TotalItems != 3 {
		t.Errorf("X-Total with retried: %d", resp.TotalItems)
	}

	scoped, _, err := c.Jobs.ListPipelineJobs("group/app", w.pl.ID, &gitlab.ListJobsOptions{
		Scope: &[]gitlab.BuildStateValue{gitlab.Pending}})
	if err != nil || len(scoped) != 1 || scoped[0].ID != retried.ID {
		t.Fatalf("scoped: %v %+v", err, scoped)
	}

	if _, resp, err := c.Jobs.ListPipelineJobs("group/app", 999, nil); err == nil || statusOf(resp) != http.StatusNotFound {
		t.Fatalf("unknown pipeline: %v", err)
	}
}

func TestClientListsBridgesWithDownstreamPipelines(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "build", Status: StatusSuccess}}, []BridgeSpec{
		{Name: "trigger", Status: StatusSuccess, DownstreamStatus: StatusFailed},
		{Name: "later", Status: StatusPending},
	})
	c := client(t, w.url, testToken)
	bridges, resp, err := c.Jobs.ListPipelineBridges("group/app", w.pl.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bridges) != 2 || resp.TotalItems != 2 {
		t.Fatalf("bridges: %+v", bridges)
	}
	later, trigger := bridges[0], bridges[1]
	if later.Name != "later" || later.DownstreamPipeline != nil {
		t.Errorf("pending bridge: %+v", later)
	}
	if trigger.DownstreamPipeline == nil || trigger.DownstreamPipeline.Status != StatusFailed ||
		trigger.DownstreamPipeline.ID == w.pl.ID || trigger.Pipeline.ID != w.pl.ID {
		t.Errorf("trigger: %+v downstream %+v", trigger, trigger.DownstreamPipeline)
	}
	// A bridge is not a build: GET /jobs/:id does not know it.
	if _, resp, _ := c.Jobs.GetJob("group/app", trigger.ID); statusOf(resp) != http.StatusNotFound {
		t.Errorf("GET bridge as job: %d, want 404", statusOf(resp))
	}
	// Bridges can be retried.
	n, resp, err := c.Jobs.RetryJob("group/app", trigger.ID)
	if err != nil || resp.StatusCode != http.StatusCreated || n.ID <= trigger.ID || n.Name != "trigger" || n.Status != StatusPending {
		t.Fatalf("retry bridge: %v %+v", err, n)
	}
}

func TestClientUsesJobTokens(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "deploy", Status: StatusRunning, Environment: "Production EU", EnvironmentTier: "production"},
		{Name: "other", Status: StatusSuccess},
	}, nil)
	other, err := w.s.CreateProject(ProjectSpec{PathWithNamespace: "group/other"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := w.s.CreateProject(ProjectSpec{PathWithNamespace: "infra/agents"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.CreateAgent(AgentSpec{ID: 5, ConfigProjectID: cfg.ID, AuthorizedProjectIDs: []int64{w.project.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.CreateAgent(AgentSpec{ID: 6, ConfigProjectID: other.ID}); err != nil {
		t.Fatal(err)
	}
	tok, err := w.s.JobToken(w.job("deploy"))
	if err != nil {
		t.Fatal(err)
	}
	jc := jobClient(t, w.url, tok)

	j, _, err := jc.Jobs.GetJobTokensJob(nil)
	if err != nil || j.ID != w.job("deploy") || j.Status != StatusRunning {
		t.Fatalf("GET /job: %v %+v", err, j)
	}
	// The job_token query form, through the client's own option.
	anon := client(t, w.url, "")
	if j, _, err := anon.Jobs.GetJobTokensJob(&gitlab.GetJobTokensJobOptions{JobToken: &tok}); err != nil || j.ID != w.job("deploy") {
		t.Fatalf("GET /job?job_token: %v", err)
	}
	if jobs, _, err := jc.Jobs.ListProjectJobs("group/app", nil); err != nil || len(jobs) != 2 {
		t.Fatalf("project jobs with a job token: %v %d", err, len(jobs))
	}
	if jobs, _, err := jc.Jobs.ListPipelineJobs("group/app", w.pl.ID, nil); err != nil || len(jobs) != 2 {
		t.Fatalf("pipeline jobs with a job token: %v", err)
	}
	// The other routes refuse job tokens.
	if _, resp, _ := jc.Jobs.GetJob("group/app", w.job("other")); statusOf(resp) != http.StatusUnauthorized {
		t.Errorf("GET job with a job token: %d, want 401", statusOf(resp))
	}
	if _, resp, _ := jc.Jobs.ListPipelineBridges("group/app", w.pl.ID, nil); statusOf(resp) != http.StatusUnauthorized {
		t.Errorf("bridges with a job token: %d, want 401", statusOf(resp))
	}
	// A job token reaches only its own project.
	if _, resp, _ := jc.Jobs.ListProjectJobs("group/other", nil); statusOf(resp) != http.StatusNotFound {
		t.Errorf("other project with a job token: %d, want 404", statusOf(resp))
	}

	// allowed_agents has no client method; raw with the job token header.
	res := do(t, "GET", w.url+"/api/v4/job/allowed_agents", "", "JOB-TOKEN: "+tok)
	var aa struct {
		AllowedAgents []struct {
			ID            int64          `json:"id"`
			ConfigProject map[string]any `json:"config_project"`
		} `json:"allowed_agents"`
		Job, Pipeline struct{ ID int64 }
		Project       struct {
			ID     int64
			Groups []struct{ ID int64 }
		}
		User        map[string]any
		Environment map[string]string
	}
	res.json(t, &aa)
	if res.code != 200 || len(aa.AllowedAgents) != 1 || aa.AllowedAgents[0].ID != 5 ||
		aa.AllowedAgents[0].ConfigProject["path_with_namespace"] != "infra/agents" {
		t.Fatalf("allowed_agents: %d %s", res.code, res.body)
	}
	if aa.Job.ID != w.job("deploy") || aa.Pipeline.ID != w.pl.ID || aa.Project.ID != w.project.ID || len(aa.Project.Groups) != 1 {
		t.Errorf("allowed_agents ids: %s", res.body)
	}
	if aa.User["username"] != "alice" || aa.Environment["tier"] != "production" || aa.Environment["slug"] != "production-eu" {
		t.Errorf("allowed_agents user/environment: %s", res.body)
	}
}

func TestClientGetsJobAndTrace(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "rspec", Status: StatusFailed, FailureReason: ReasonScriptFailure, Trace: "line 1\nCould not resolve host: x\n",
			TagList: []string{"docker"}, Artifacts: true},
		{Name: "quiet", Status: StatusSuccess},
	}, nil)
	c := client(t, w.url, testToken)
	j, _, err := c.Jobs.GetJob("group/app", w.job("rspec"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Name != "rspec" || j.Status != StatusFailed || j.FailureReason != ReasonScriptFailure ||
		!slices.Equal(j.TagList, []string{"docker"}) || j.ArtifactsFile.Filename != "artifacts.zip" ||
		j.Pipeline.ID != w.pl.ID || j.User == nil || j.User.Username != "alice" ||
		j.WebURL != w.url+"/group/app/-/jobs/"+itoa(j.ID) || j.StartedAt == nil || j.FinishedAt == nil {
		t.Fatalf("job: %+v", j)
	}
	tr, _, err := c.Jobs.GetTraceFile("group/app", w.job("rspec"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tr)
	if string(b) != "line 1\nCould not resolve host: x\n" {
		t.Fatalf("trace %q", b)
	}
	tr, _, err = c.Jobs.GetTraceFile("group/app", w.job("quiet"))
	if b, _ := io.ReadAll(tr); err != nil || len(b) != 0 {
		t.Fatalf("empty trace: %v %q", err, b)
	}
	if _, resp, _ := c.Jobs.GetJob("group/app", 9999); statusOf(resp) != http.StatusNotFound {
		t.Fatalf("unknown job: %d", statusOf(resp))
	}
}

func TestClientCancelsRetriesErasesAndPlays(t *testing.T) {
	w := newWorld(t, Options{CancelingDuration: -1}, []JobSpec{
		{Name: "pending", Status: StatusPending},
		{Name: "running", Status: StatusRunning},
		{Name: "failed", Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure, TagList: []string{"docker"}, Trace: "x"},
		{Name: "deploy", When: "manual", Stage: "deploy"},
	}, nil)
	c := client(t, w.url, testToken)

	j, resp, err := c.Jobs.CancelJob("group/app", w.job("pending"))
	if err != nil || resp.StatusCode != http.StatusCreated || j.Status != StatusCanceled {
		t.Fatalf("cancel pending: %v %d %+v", err, statusOf(resp), j)
	}
	j, _, err = c.Jobs.CancelJob("group/app", w.job("running"))
	if err != nil || j.Status != StatusCanceling {
		t.Fatalf("cancel running: %v %+v", err, j)
	}
	//nolint:staticcheck // deprecated for v4, but v2's only way to send force=true
	j, _, err = c.Jobs.CancelJobWithOptions("group/app", w.job("running"), &gitlab.CancelJobOptions{Force: gitlab.Ptr(true)})
	if err != nil || j.Status != StatusCanceled {
		t.Fatalf("force cancel: %v %+v", err, j)
	}

	n, resp, err := c.Jobs.RetryJob("group/app", w.job("failed"))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("retry: %v %d", err, statusOf(resp))
	}
	if n.ID <= w.job("deploy") || n.Name != "failed" || n.Status != StatusPending || n.Stage != "test" ||
		!slices.Equal(n.TagList, []string{"docker"}) || n.User.Username != "alice" || n.FailureReason != "" {
		t.Fatalf("new job: %+v", n)
	}
	old, _ := w.s.Job(w.job("failed"))
	if !old.Retried || old.Status != StatusFailed {
		t.Fatalf("old job after retry: %+v", old)
	}

	e, resp, err := c.Jobs.EraseJob("group/app", w.job("failed"))
	if err != nil || resp.StatusCode != http.StatusCreated || e.ErasedAt == nil || len(e.Artifacts) != 0 {
		t.Fatalf("erase: %v %+v", err, e)
	}

	vars := []*gitlab.JobVariableOptions{{Key: gitlab.Ptr("TARGET"), Value: gitlab.Ptr("prod")}}
	p, resp, err := c.Jobs.PlayJob("group/app", w.job("deploy"), &gitlab.PlayJobOptions{JobVariablesAttributes: &vars})
	if err != nil || resp.StatusCode != http.StatusOK || p.Status != StatusPending || p.ID != w.job("deploy") {
		t.Fatalf("play: %v %d %+v", err, statusOf(resp), p)
	}
	played, _ := w.s.Job(w.job("deploy"))
	if !slices.Equal(played.Variables, []Variable{{"TARGET", "prod"}}) {
		t.Fatalf("play variables: %+v", played.Variables)
	}
	st := w.s.Stats()
	if st.Actions[w.job("deploy")].Play != 1 || st.Actions[w.job("failed")].Retry != 1 ||
		st.Actions[w.job("failed")].Erase != 1 || st.Actions[w.job("running")].Cancel != 2 {
		t.Fatalf("actions: %+v", st.Actions)
	}
	if !slices.Equal(st.PlayVariables[w.job("deploy")], []Variable{{"TARGET", "prod"}}) {
		t.Fatalf("play_variables: %+v", st.PlayVariables)
	}
	if st.Count(RouteRetry, http.StatusCreated) != 1 || st.Count(RoutePlay, http.StatusOK) != 1 {
		t.Fatalf("requests: %+v", st.Requests)
	}
}

func TestClientReadsUserAndVersion(t *testing.T) {
	w := newWorld(t, Options{}, nil, nil)
	c := client(t, w.url, testToken)
	u, _, err := c.Users.CurrentUser()
	if err != nil || u.Username != "alice" || u.ID != w.user.ID || u.Email != "alice@example.com" {
		t.Fatalf("user: %v %+v", err, u)
	}
	v, _, err := c.Version.GetVersion()
	if err != nil || v.Version != "17.11.0" {
		t.Fatalf("version: %v %+v", err, v)
	}
	bad := client(t, w.url, "glpat-wrong")
	if _, resp, err := bad.Users.CurrentUser(); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %v", err)
	}
	// Bearer works for personal tokens too.
	res := do(t, "GET", w.url+"/api/v4/user", "", "Authorization: Bearer "+testToken)
	if res.code != 200 || !strings.Contains(res.body, `"username":"alice"`) {
		t.Fatalf("bearer: %d %s", res.code, res.body)
	}
}

func TestClientFiltersByEachOfTheThirteenStatuses(t *testing.T) {
	var jobs []JobSpec
	for _, st := range AllStatuses {
		jobs = append(jobs, JobSpec{Name: st, Status: st})
	}
	w := newWorld(t, Options{}, jobs, nil)
	c := client(t, w.url, testToken)
	for _, st := range AllStatuses {
		scope := []gitlab.BuildStateValue{gitlab.BuildStateValue(st)}
		got, _, err := c.Jobs.ListProjectJobs("group/app", &gitlab.ListJobsOptions{Scope: &scope})
		if err != nil || len(got) != 1 || got[0].Status != st || got[0].Name != st {
			t.Errorf("scope %s: %v %d jobs", st, err, len(got))
		}
		res := do(t, "GET", w.url+"/api/v4/projects/1/jobs?scope="+st, "", auth(testToken))
		if res.code != 200 || !strings.Contains(res.body, `"name":"`+st+`"`) {
			t.Errorf("scope=%s: %d", st, res.code)
		}
	}
}
