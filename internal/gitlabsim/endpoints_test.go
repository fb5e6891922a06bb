package gitlabsim

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Conformance of the project, pipeline and artifact endpoints, through the
// real GitLab Go client.

func TestClientGetsAProjectByIDAndByPath(t *testing.T) {
	s, url := start(t, Options{})
	for _, u := range []string{"alice", "guest", "stranger"} {
		if _, err := s.CreateUser(UserSpec{Username: u, Token: "glpat-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.CreateProject(ProjectSpec{ID: 7, PathWithNamespace: "platform/tools/app", Name: "App", Description: "d",
		DefaultBranch: "trunk", Members: []MemberSpec{{Username: "alice", Role: "developer"}, {Username: "guest", Role: "guest"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, url, "glpat-alice")
	for _, pid := range []any{7, "platform/tools/app", "PLATFORM/tools/App"} {
		got, resp, err := c.Projects.GetProject(pid, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("get %v: %v", pid, err)
		}
		if got.ID != p.ID || got.Name != "App" || got.NameWithNamespace != "platform / tools / App" || got.Path != "app" ||
			got.PathWithNamespace != "platform/tools/app" || got.WebURL != url+"/platform/tools/app" ||
			got.DefaultBranch != "trunk" || got.Description != "d" || got.HTTPURLToRepo != url+"/platform/tools/app.git" ||
			got.Namespace == nil || got.Namespace.FullPath != "platform/tools" || got.Namespace.Kind != "group" ||
			got.Namespace.Path != "tools" || got.Namespace.ParentID == 0 || got.Visibility != gitlab.PrivateVisibility ||
			got.Permissions == nil || got.Permissions.ProjectAccess == nil || got.Permissions.ProjectAccess.AccessLevel != gitlab.DeveloperPermissions {
			t.Errorf("get %v: %+v", pid, got)
		}
	}
	if _, resp, err := client(t, url, "glpat-guest").Projects.GetProject(7, nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("a guest reads the project: %v", err)
	}
	api := url + "/api/v4/projects/"
	do(t, "GET", api+"7", "", auth("glpat-stranger")).want(t, 404, `{"message":"404 Project Not Found"}`)
	do(t, "GET", api+"8", "", auth("glpat-alice")).want(t, 404, `{"message":"404 Project Not Found"}`)
	do(t, "GET", api+"platform%2Fnope", "", auth("glpat-alice")).want(t, 404, `{"message":"404 Project Not Found"}`)
	// Anonymous callers may read public projects; the simulator has none.
	do(t, "GET", api+"7", "").want(t, 404, `{"message":"404 Project Not Found"}`)
	do(t, "GET", api+"7", "", auth("glpat-bad")).want(t, 401, `{"message":"401 Unauthorized"}`)
	do(t, "DELETE", api+"7", "", auth("glpat-alice")).want(t, 405, `{"error":"405 Not Allowed"}`)
}

// pipelineWorld: three pipelines of group/app on two branches and a tag.
func pipelineWorld(t *testing.T) (world, []Pipeline) {
	t.Helper()
	w := newWorld(t, Options{}, []JobSpec{{Name: "a", Status: StatusSuccess}}, nil)
	if _, err := w.s.CreateUser(UserSpec{Username: "bob", Token: "glpat-bob"}); err != nil {
		t.Fatal(err)
	}
	pls := []Pipeline{w.pl}
	for _, spec := range []PipelineSpec{
		{ProjectID: 1, Ref: "feature", Username: "bob", Jobs: []JobSpec{{Name: "a", Status: StatusFailed}}},
		{ProjectID: 1, Ref: "main", Username: "alice", Jobs: []JobSpec{{Name: "a", Status: StatusRunning}}},
		{ProjectID: 1, Ref: "v1.0", Tag: true, Source: "web", Jobs: []JobSpec{{Name: "a", Status: StatusPending}}},
	} {
		pl, err := w.s.CreatePipeline(spec)
		if err != nil {
			t.Fatal(err)
		}
		pls = append(pls, pl)
	}
	return w, pls
}

func TestClientListsProjectPipelinesWithFiltersOrderAndPages(t *testing.T) {
	w, pls := pipelineWorld(t)
	c := client(t, w.url, testToken)
	ids := func(opt *gitlab.ListProjectPipelinesOptions) []int64 {
		t.Helper()
		got, resp, err := c.Pipelines.ListProjectPipelines("group/app", opt)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TotalItems == 0 && len(got) > 0 {
			t.Errorf("the pipelines list gives X-Total: %v", resp.Header)
		}
		out := []int64{}
		for _, p := range got {
			out = append(out, p.ID)
		}
		return out
	}
	p1, p2, p3, p4 := pls[0].ID, pls[1].ID, pls[2].ID, pls[3].ID
	for _, tc := range []struct {
		name string
		opt  *gitlab.ListProjectPipelinesOptions
		want []int64
	}{
		{"newest first", nil, []int64{p4, p3, p2, p1}},
		{"ref", &gitlab.ListProjectPipelinesOptions{Ref: gitlab.Ptr("main")}, []int64{p3, p1}},
		{"status", &gitlab.ListProjectPipelinesOptions{Status: gitlab.Ptr(gitlab.Failed)}, []int64{p2}},
		{"scope finished", &gitlab.ListProjectPipelinesOptions{Scope: gitlab.Ptr("finished")}, []int64{p2, p1}},
		{"scope running", &gitlab.ListProjectPipelinesOptions{Scope: gitlab.Ptr("running")}, []int64{p3}},
		{"scope branches: the latest of each", &gitlab.ListProjectPipelinesOptions{Scope: gitlab.Ptr("branches")}, []int64{p3, p2}},
		{"scope tags", &gitlab.ListProjectPipelinesOptions{Scope: gitlab.Ptr("tags")}, []int64{p4}},
		{"username", &gitlab.ListProjectPipelinesOptions{Username: gitlab.Ptr("bob")}, []int64{p2}},
		{"source", &gitlab.ListProjectPipelinesOptions{Source: gitlab.Ptr("web")}, []int64{p4}},
		{"sha", &gitlab.ListProjectPipelinesOptions{SHA: gitlab.Ptr(pls[1].SHA)}, []int64{p2}},
		{"ascending", &gitlab.ListProjectPipelinesOptions{Sort: gitlab.Ptr("asc")}, []int64{p1, p2, p3, p4}},
		{"by ref", &gitlab.ListProjectPipelinesOptions{OrderBy: gitlab.Ptr("ref"), Sort: gitlab.Ptr("asc")}, []int64{p2, p1, p3, p4}},
		{"created after", &gitlab.ListProjectPipelinesOptions{CreatedAfter: gitlab.Ptr(time.Now().Add(time.Hour))}, []int64{}},
	} {
		if got := ids(tc.opt); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	got, resp, err := c.Pipelines.ListProjectPipelines(1, &gitlab.ListProjectPipelinesOptions{ListOptions: gitlab.ListOptions{PerPage: 3, Page: 1}})
	if err != nil || len(got) != 3 || resp.TotalItems != 4 || resp.TotalPages != 2 || resp.NextPage != 2 {
		t.Fatalf("page 1 of 2: %v %d items, headers %+v", err, len(got), resp.Header)
	}
	if got[0].Status != StatusPending || got[0].Ref != "v1.0" || got[0].WebURL != w.url+"/group/app/-/pipelines/"+itoa(p4) {
		t.Errorf("pipeline entity: %+v", got[0])
	}
	api := w.url + "/api/v4/projects/1/pipelines"
	for q, body := range map[string]string{
		"scope=bogus":      `{"error":"scope does not have a valid value"}`,
		"status=bogus":     `{"error":"status does not have a valid value"}`,
		"order_by=name":    `{"error":"order_by does not have a valid value"}`,
		"sort=up":          `{"error":"sort does not have a valid value"}`,
		"per_page=0":       `{"error":"per_page has a value not allowed"}`,
		"created_after=x":  `{"error":"created_after is invalid"}`,
		"yaml_errors=what": `{"error":"yaml_errors is invalid"}`,
	} {
		do(t, "GET", api+"?"+q, "", auth(testToken)).want(t, 400, body)
	}
}

func TestClientGetsAPipelineWithItsStatusDerivedFromItsJobs(t *testing.T) {
	w, pls := pipelineWorld(t)
	c := client(t, w.url, testToken)
	p, resp, err := c.Pipelines.GetPipeline("group/app", pls[1].ID)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err)
	}
	if p.ID != pls[1].ID || p.IID != 2 || p.Status != StatusFailed || p.Ref != "feature" || p.SHA != pls[1].SHA ||
		p.User == nil || p.User.Username != "bob" || p.DetailedStatus == nil || p.DetailedStatus.Group != "failed" ||
		p.StartedAt == nil || p.FinishedAt == nil || p.BeforeSHA != zeroSHA {
		t.Fatalf("pipeline: %+v %+v", p, p.DetailedStatus)
	}
	for _, tc := range []struct {
		jobs          []JobSpec
		status, label string
	}{
		{[]JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusFailed, AllowFailure: ptr(true)}}, StatusSuccess, "passed with warnings"},
		{[]JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", When: "manual"}}, StatusSuccess, "passed"},
		{[]JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", When: "manual", AllowFailure: ptr(false)}}, StatusManual, "waiting for manual action"},
		{[]JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusRunning}}, StatusRunning, "running"},
		{[]JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusCreated}}, StatusRunning, "running"},
		{[]JobSpec{{Name: "a", Status: StatusSkipped}}, StatusSkipped, "skipped"},
		{[]JobSpec{{Name: "a", Status: StatusCanceled}, {Name: "b", Status: StatusSuccess}}, StatusCanceled, "canceled"},
	} {
		pl, err := w.s.CreatePipeline(PipelineSpec{ProjectID: 1, Jobs: tc.jobs})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.Pipelines.GetPipeline(1, pl.ID)
		if err != nil || got.Status != tc.status || got.DetailedStatus.Label != tc.label {
			t.Errorf("jobs %+v: pipeline %s (%s), want %s (%s)", tc.jobs, got.Status, got.DetailedStatus.Label, tc.status, tc.label)
		}
	}
	other, err := w.s.CreateProject(ProjectSpec{PathWithNamespace: "group/other"})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := w.s.CreatePipeline(PipelineSpec{ProjectID: other.ID})
	if err != nil {
		t.Fatal(err)
	}
	api := w.url + "/api/v4/projects/1/pipelines/"
	do(t, "GET", api+"999", "", auth(testToken)).want(t, 404, `{"message":"404 Not found"}`)
	do(t, "GET", api+itoa(elsewhere.ID), "", auth(testToken)).want(t, 404, `{"message":"404 Not found"}`)
	do(t, "GET", api+"x", "", auth(testToken)).want(t, 400, `{"error":"pipeline_id is invalid"}`)
}

func ptr[T any](v T) *T { return &v }

func TestClientDownloadsAJobsArtifactsArchiveUntilErased(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "build", Status: StatusSuccess, Artifacts: true, Trace: "ok"},
		{Name: "lint", Status: StatusSuccess, Trace: "ok"},
		{Name: "run", Status: StatusRunning},
	}, []BridgeSpec{{Name: "bridge", Status: StatusSuccess}})
	c := client(t, w.url, testToken)
	job, _, err := c.Jobs.GetJob("group/app", w.job("build"))
	if err != nil || job.ArtifactsFile.Filename != "artifacts.zip" {
		t.Fatalf("job: %v %+v", err, job.ArtifactsFile)
	}
	rd, resp, err := c.Jobs.GetJobArtifacts("group/app", w.job("build"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %v", err)
	}
	b, _ := io.ReadAll(rd)
	if int64(len(b)) != job.ArtifactsFile.Size || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="artifacts.zip"`) {
		t.Fatalf("archive of %d bytes (job says %d), headers %v", len(b), job.ArtifactsFile.Size, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "artifacts/build.txt" {
		t.Fatalf("not the archive: %v %+v", err, zr)
	}
	// A running job of the project may download with its job token.
	tok, _ := w.s.JobToken(w.job("run"))
	res := do(t, "GET", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("build"))+"/artifacts", "", "JOB-TOKEN: "+tok)
	if res.code != 200 || res.body != string(b) {
		t.Fatalf("with a job token: %d", res.code)
	}
	api := w.url + "/api/v4/projects/1/jobs/"
	do(t, "GET", api+itoa(w.job("lint"))+"/artifacts", "", auth(testToken)).want(t, 404, `{"message":"404 Not Found"}`)
	do(t, "GET", api+"999/artifacts", "", auth(testToken)).want(t, 404, `{"message":"404 Not found"}`)
	do(t, "GET", api+itoa(w.job("bridge"))+"/artifacts", "", auth(testToken)).want(t, 404, `{"message":"404 Not found"}`)
	do(t, "GET", api+itoa(w.job("build"))+"/artifacts", "").want(t, 404, `{"message":"404 Project Not Found"}`)
	if _, _, err := c.Jobs.EraseJob("group/app", w.job("build")); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := c.Jobs.GetJobArtifacts("group/app", w.job("build")); err == nil || statusOf(resp) != http.StatusNotFound {
		t.Fatalf("after erase: %v %d", err, statusOf(resp))
	}
}

// A walk over a project's pipelines by last update relies on what GitLab
// does: updated_at moves when the pipeline's status changes (not when a job
// changes under an unchanged status, nor when a job is erased); a historical
// pipeline was last updated when its last job finished; the time filters are
// inclusive; child pipelines are listed only when asked for by source.
func TestPipelinesListByLastUpdate(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "a", Status: StatusRunning, Trace: "ok"}, {Name: "b", Status: StatusRunning}}, nil)
	c := client(t, w.url, testToken)
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	finished := old.Add(2 * time.Hour)
	hist, err := w.s.CreatePipeline(PipelineSpec{ProjectID: 1, CreatedAt: &old,
		Jobs: []JobSpec{{Name: "build", Status: StatusSuccess, FinishedAt: &finished}}})
	if err != nil {
		t.Fatal(err)
	}
	child, err := w.s.CreatePipeline(PipelineSpec{ProjectID: 1, Source: "parent_pipeline", Jobs: []JobSpec{{Name: "c", Status: StatusSuccess}}})
	if err != nil {
		t.Fatal(err)
	}
	updated := func(id int64) time.Time {
		t.Helper()
		p, _, err := c.Pipelines.GetPipeline(1, id)
		if err != nil {
			t.Fatal(err)
		}
		return *p.UpdatedAt
	}
	if got := updated(hist.ID); !got.Equal(finished) {
		t.Errorf("a historical pipeline's updated_at is %s, want its last job's finish %s", got, finished)
	}

	running := updated(w.pl.ID)
	time.Sleep(5 * time.Millisecond)
	if _, err := w.s.SetJobStatus(w.job("a"), StatusSuccess, ""); err != nil {
		t.Fatal(err)
	}
	if got := updated(w.pl.ID); !got.Equal(running) {
		t.Errorf("a job finishing while the pipeline runs on moved updated_at from %s to %s", running, got)
	}
	if _, _, err := c.Jobs.EraseJob(1, w.job("a")); err != nil {
		t.Fatal(err)
	}
	if got := updated(w.pl.ID); !got.Equal(running) {
		t.Errorf("erasing a job moved its pipeline's updated_at from %s to %s", running, got)
	}
	if _, err := w.s.SetJobStatus(w.job("b"), StatusSuccess, ""); err != nil {
		t.Fatal(err)
	}
	done := updated(w.pl.ID)
	if !done.After(running) {
		t.Errorf("the pipeline finishing left updated_at at %s", done)
	}

	list := func(opt *gitlab.ListProjectPipelinesOptions) []int64 {
		t.Helper()
		opt.OrderBy, opt.Sort = gitlab.Ptr("updated_at"), gitlab.Ptr("asc")
		got, _, err := c.Pipelines.ListProjectPipelines(1, opt)
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, p := range got {
			out = append(out, p.ID)
		}
		return out
	}
	if got, want := list(&gitlab.ListProjectPipelinesOptions{}), []int64{hist.ID, w.pl.ID}; !slices.Equal(got, want) {
		t.Errorf("by last update: %v, want %v (no child pipeline)", got, want)
	}
	// The library sends whole seconds; GitLab and the simulator take any
	// precision, so ask with the exact millisecond through the raw query.
	at := func(key string, v time.Time) string { return key + "=" + v.UTC().Format("2006-01-02T15:04:05.000Z") }
	api := w.url + "/api/v4/projects/1/pipelines?order_by=updated_at&sort=asc&"
	var got []struct{ ID int64 }
	do(t, "GET", api+at("updated_after", finished)+"&"+at("updated_before", finished), "", auth(testToken)).json(t, &got)
	if len(got) != 1 || got[0].ID != hist.ID {
		t.Errorf("updated_after and updated_before equal to a pipeline's updated_at: %v, want only it", got)
	}
	if got := list(&gitlab.ListProjectPipelinesOptions{Source: gitlab.Ptr("parent_pipeline")}); !slices.Equal(got, []int64{child.ID}) {
		t.Errorf("source=parent_pipeline: %v, want the child %d", got, child.ID)
	}
}
