package gitlabsim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Webhooks, checked the way a receiver would read them: with the GitLab Go
// client's own HookEventType and ParseWebhook.

type received struct {
	req  *http.Request
	body []byte
	at   time.Time
}

// receiver records what is POSTed to it and answers status (200 by
// default) after delay.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []received
	status int
	delay  time.Duration
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{req: r, body: body, at: time.Now()})
		status, delay := rc.status, rc.delay
		rc.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func waitHooks(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitForHookDeliveries(ctx); err != nil {
		t.Fatalf("deliveries still queued: %v", err)
	}
}

// jobEvents parses every Job Hook the receiver got, in order.
func jobEvents(t *testing.T, rc *receiver) []*gitlab.JobEvent {
	t.Helper()
	var out []*gitlab.JobEvent
	for _, r := range rc.received() {
		if gitlab.HookEventType(r.req) != gitlab.EventTypeJob {
			continue
		}
		ev, err := gitlab.ParseWebhook(gitlab.HookEventType(r.req), r.body)
		if err != nil {
			t.Fatalf("ParseWebhook: %v\n%s", err, r.body)
		}
		je, ok := ev.(*gitlab.JobEvent)
		if !ok {
			t.Fatalf("parsed as %T", ev)
		}
		out = append(out, je)
	}
	return out
}

func pipelineEvents(t *testing.T, rc *receiver) []*gitlab.PipelineEvent {
	t.Helper()
	var out []*gitlab.PipelineEvent
	for _, r := range rc.received() {
		if gitlab.HookEventType(r.req) != gitlab.EventTypePipeline {
			continue
		}
		ev, err := gitlab.ParseWebhook(gitlab.HookEventType(r.req), r.body)
		if err != nil {
			t.Fatalf("ParseWebhook: %v\n%s", err, r.body)
		}
		out = append(out, ev.(*gitlab.PipelineEvent))
	}
	return out
}

func statuses(evs []*gitlab.JobEvent, id int64) []string {
	var out []string
	for _, e := range evs {
		if e.BuildID == id {
			out = append(out, e.BuildStatus)
		}
	}
	return out
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAJobStatusChangeSendsAJobHookTheGitLabClientParses(t *testing.T) {
	rc := newReceiver(t)
	s, url := start(t, Options{Version: "17.9.1"})
	if _, err := s.CreateUser(UserSpec{Username: "alice", Name: "Alice", Token: testToken}); err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ProjectSpec{PathWithNamespace: "group/app", Name: "App", Description: "the app"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.CreateHook(HookSpec{ProjectPath: "group/app", URL: rc.srv.URL + "/hook", Token: "s3cret", JobEvents: true})
	if err != nil || h.ProjectID != p.ID || !h.JobEvents || h.PipelineEvents || !h.EnableSSLVerification {
		t.Fatalf("hook: %v %+v", err, h)
	}
	pl, err := s.CreatePipeline(PipelineSpec{ProjectID: p.ID, Ref: "main", Username: "alice", Jobs: []JobSpec{
		{Name: "rspec", Stage: "test", Status: StatusPending, TagList: []string{"docker"}, Environment: "review/x"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := pl.Jobs[0].ID
	if _, err := s.SetJobStatus(id, StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetJobStatus(id, StatusFailed, ReasonScriptFailure); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, s)
	evs := jobEvents(t, rc)
	if got := statuses(evs, id); !slices.Equal(got, []string{"pending", "running", "failed"}) {
		t.Fatalf("job hooks for %d: %v, want pending (created), running, failed", id, got)
	}
	e := evs[2]
	if e.ObjectKind != "build" || e.BuildName != "rspec" || e.BuildStage != "test" || e.BuildFailureReason != ReasonScriptFailure ||
		e.BuildAllowFailure || e.PipelineID != pl.ID || e.ProjectID != p.ID || e.ProjectName != "group / App" ||
		e.Ref != "main" || e.Tag || e.SHA != pl.SHA || e.BeforeSHA != zeroSHA || e.RetriesCount != 0 ||
		e.User == nil || e.User.Username != "alice" || e.User.Name != "Alice" ||
		e.Commit.ID != pl.ID || e.Commit.SHA != pl.SHA || e.Commit.Status != StatusFailed || e.Commit.Message == "" ||
		e.Repository == nil || e.Repository.Homepage != url+"/group/app" || e.Repository.Name != "App" ||
		e.Repository.GitHTTPURL != url+"/group/app.git" || e.Project.PathWithNamespace != "group/app" ||
		e.Runner.ID == 0 || !slices.Equal(e.Runner.Tags, []string{"docker"}) || e.Environment.Name != "review/x" ||
		e.BuildStartedAt == "" || e.BuildFinishedAt == "" || e.BuildCreatedAtISO == "" {
		t.Errorf("job event: %+v", e)
	}
	if evs[0].Runner.ID != 0 || evs[0].BuildFailureReason != "" || evs[0].BuildStartedAt != "" {
		t.Errorf("the pending job's event has a runner, a failure reason or a start: %+v", evs[0])
	}
	if _, err := time.Parse("2006-01-02 15:04:05 UTC", e.BuildFinishedAt); err != nil {
		t.Errorf("build_finished_at %q is not GitLab's hook time format", e.BuildFinishedAt)
	}
	seen := map[string]bool{}
	for _, r := range rc.received() {
		hd := r.req.Header
		if r.req.Method != "POST" || r.req.URL.Path != "/hook" || hd.Get("Content-Type") != "application/json" ||
			hd.Get("X-Gitlab-Event") != "Job Hook" || hd.Get("X-Gitlab-Token") != "s3cret" ||
			hd.Get("User-Agent") != "GitLab/17.9.1" || hd.Get("X-Gitlab-Instance") != url ||
			!uuidRE.MatchString(hd.Get("X-Gitlab-Event-UUID")) || !uuidRE.MatchString(hd.Get("X-Gitlab-Webhook-UUID")) {
			t.Errorf("headers: %s %s %v", r.req.Method, r.req.URL, hd)
		}
		if seen[hd.Get("X-Gitlab-Webhook-UUID")] {
			t.Errorf("X-Gitlab-Webhook-UUID repeated across deliveries")
		}
		seen[hd.Get("X-Gitlab-Webhook-UUID")] = true
	}
	if st := s.Stats(); st.Hooks[h.ID] != (HookCounts{Sent: 3}) {
		t.Errorf("hook stats: %+v", st.Hooks)
	}
}

// hookWorld is newWorld with hooks registered before the pipeline, so they
// hear its jobs being created.
func hookWorld(t *testing.T, opts Options, hooks []HookSpec, jobs []JobSpec, bridges []BridgeSpec) world {
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
	for _, h := range hooks {
		h.ProjectID = w.project.ID
		if _, err := s.CreateHook(h); err != nil {
			t.Fatal(err)
		}
	}
	if w.pl, err = s.CreatePipeline(PipelineSpec{ProjectID: w.project.ID, Username: "alice", Jobs: jobs, Bridges: bridges}); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEveryKindOfStatusChangeSendsAJobHookInOrder(t *testing.T) {
	rc := newReceiver(t)
	w := hookWorld(t, Options{Lifecycle: fastLifecycle()}, []HookSpec{{URL: rc.srv.URL, JobEvents: true}}, []JobSpec{
		{Name: "unit", Outcomes: []Outcome{{Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure}, {Status: StatusSuccess}}},
		{Name: "deploy", Stage: "deploy", When: "manual"},
		{Name: "stuck", Status: StatusRunning, Stuck: true},
	}, []BridgeSpec{{Name: "trigger", Status: StatusPending}})
	unit := w.job("unit")
	waitFor(t, func() bool { j, _ := w.s.Job(unit); return j.Status == StatusFailed })
	c := client(t, w.url, testToken) // actions through the API
	n, _, err := c.Jobs.RetryJob("group/app", unit)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { j, _ := w.s.Job(n.ID); return j.Status == StatusSuccess })
	if _, _, err := c.Jobs.CancelJob("group/app", w.job("stuck")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { j, _ := w.s.Job(w.job("stuck")); return j.Status == StatusCanceled })
	if _, err := w.s.TransitionJob(w.job("deploy"), StatusSpec{Status: StatusSkipped}); err != nil { // the admin API
		t.Fatal(err)
	}
	waitFor(t, func() bool { j, _ := w.s.Job(w.job("trigger")); return j.Status == StatusSuccess })
	waitHooks(t, w.s)
	evs := jobEvents(t, rc)
	for id, want := range map[int64][]string{
		unit:             {"pending", "running", "failed"},
		n.ID:             {"pending", "running", "success"},
		w.job("stuck"):   {"running", "canceling", "canceled"},
		w.job("deploy"):  {"manual", "skipped"},
		w.job("trigger"): nil, // trigger jobs send no Job Hook
	} {
		if got := statuses(evs, id); !slices.Equal(got, want) {
			t.Errorf("job %d: %v, want %v", id, got, want)
		}
	}
	for _, e := range evs {
		if e.BuildID == n.ID && e.RetriesCount != 1 {
			t.Errorf("the retry's events say retries_count %d, want 1", e.RetriesCount)
		}
	}
}

func TestAPipelineHookIsSentWhenThePipelineStatusChanges(t *testing.T) {
	rc := newReceiver(t)
	w := hookWorld(t, Options{}, []HookSpec{{URL: rc.srv.URL, PipelineEvents: true}}, []JobSpec{
		{Name: "build", Stage: "build", Status: StatusPending, Artifacts: true},
		{Name: "unit", Stage: "test", Status: StatusCreated},
		{Name: "lint", Stage: "test", Status: StatusCreated},
	}, []BridgeSpec{{Name: "docs", Stage: "deploy", Status: StatusCreated}})
	for _, step := range []struct{ job, status string }{
		{"build", StatusRunning}, // pending -> running
		{"build", StatusSuccess}, // still running (created jobs wait): no hook
		{"unit", StatusSuccess},
		{"lint", StatusSuccess},
		{"docs", StatusSuccess}, // -> success
	} {
		if _, err := w.s.SetJobStatus(w.job(step.job), step.status, ""); err != nil {
			t.Fatal(err)
		}
	}
	waitHooks(t, w.s)
	evs := pipelineEvents(t, rc)
	var got []string
	for _, e := range evs {
		got = append(got, e.ObjectAttributes.Status)
	}
	if !slices.Equal(got, []string{"pending", "running", "success"}) {
		t.Fatalf("pipeline hooks: %v, want pending (created), running, success", got)
	}
	e := evs[2]
	if e.ObjectKind != "pipeline" || e.ObjectAttributes.ID != w.pl.ID || e.ObjectAttributes.Ref != "main" ||
		e.ObjectAttributes.SHA != w.pl.SHA || e.ObjectAttributes.DetailedStatus != "passed" ||
		!slices.Equal(e.ObjectAttributes.Stages, []string{"build", "test", "deploy"}) ||
		e.ObjectAttributes.URL != w.url+"/group/app/-/pipelines/"+itoa(w.pl.ID) ||
		e.Project.ID != w.project.ID || e.Project.PathWithNamespace != "group/app" || e.Project.WebURL != w.url+"/group/app" ||
		e.User == nil || e.User.Username != "alice" || e.Commit.ID != w.pl.SHA || e.Commit.Timestamp == nil ||
		len(e.Builds) != 3 || e.ObjectAttributes.FinishedAt == "" {
		t.Errorf("pipeline event: %+v", e)
	}
	for _, b := range e.Builds {
		if b.Status != StatusSuccess || b.Name == "docs" || (b.Name == "build" && b.ArtifactsFile.Filename != "artifacts.zip") {
			t.Errorf("build %+v", b)
		}
	}
}

func TestHookFaultsDropDuplicateReorderAndDelayDeliveries(t *testing.T) {
	setup := func(t *testing.T, f HookFaults) (*receiver, world, []int64) {
		rc := newReceiver(t)
		w := hookWorld(t, Options{}, []HookSpec{{URL: rc.srv.URL, JobEvents: true}}, nil, nil)
		waitHooks(t, w.s)
		if err := w.s.SetHookFaults(f); err != nil {
			t.Fatal(err)
		}
		pl, err := w.s.CreatePipeline(PipelineSpec{ProjectID: 1, Jobs: []JobSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}}})
		if err != nil {
			t.Fatal(err)
		}
		waitHooks(t, w.s)
		return rc, w, []int64{pl.Jobs[0].ID, pl.Jobs[1].ID, pl.Jobs[2].ID}
	}
	order := func(rc *receiver) []int64 {
		var out []int64
		for _, e := range jobEvents(t, rc) {
			out = append(out, e.BuildID)
		}
		return out
	}
	t.Run("drop", func(t *testing.T) {
		rc, w, ids := setup(t, HookFaults{DropRate: 1, Count: 1})
		if got := order(rc); !slices.Equal(got, ids[1:]) {
			t.Errorf("received %v, want %v (the first dropped)", got, ids[1:])
		}
		if c := w.s.Stats().HookTotals(); c.Dropped != 1 || c.Sent != 2 {
			t.Errorf("stats %+v", c)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		rc, w, ids := setup(t, HookFaults{DuplicateRate: 1, Count: 1})
		got := rc.received()
		if o := order(rc); !slices.Equal(o, []int64{ids[0], ids[0], ids[1], ids[2]}) {
			t.Fatalf("received %v", o)
		}
		a, b := got[0].req.Header, got[1].req.Header
		if a.Get("X-Gitlab-Event-UUID") != b.Get("X-Gitlab-Event-UUID") || a.Get("Idempotency-Key") != b.Get("Idempotency-Key") ||
			a.Get("X-Gitlab-Webhook-UUID") == b.Get("X-Gitlab-Webhook-UUID") || string(got[0].body) != string(got[1].body) {
			t.Errorf("a duplicate is the same event and key, as a new request: %v / %v", a, b)
		}
		if c := w.s.Stats().HookTotals(); c.Sent != 4 || c.Duplicated != 1 {
			t.Errorf("stats %+v", c)
		}
	})
	t.Run("reorder", func(t *testing.T) {
		rc, w, ids := setup(t, HookFaults{ReorderRate: 1, Count: 1})
		if got := order(rc); !slices.Equal(got, []int64{ids[1], ids[0], ids[2]}) {
			t.Errorf("received %v, want the first after the second", got)
		}
		if c := w.s.Stats().HookTotals(); c.Sent != 3 || c.Reordered != 1 {
			t.Errorf("stats %+v", c)
		}
	})
	t.Run("delay holds the queue", func(t *testing.T) {
		start := time.Now()
		rc, _, ids := setup(t, HookFaults{DelayMS: 150, Count: 1})
		got := rc.received()
		if o := order(rc); !slices.Equal(o, ids) {
			t.Errorf("received %v, want %v", o, ids)
		}
		if got[0].at.Sub(start) < 150*time.Millisecond {
			t.Errorf("the first delivery came after %v, want at least 150ms", got[0].at.Sub(start))
		}
	})
	t.Run("filters", func(t *testing.T) {
		rc, _, ids := setup(t, HookFaults{DropRate: 1, Events: []string{EventPipelineHook}})
		if got := order(rc); !slices.Equal(got, ids) {
			t.Errorf("a pipeline-only fault touched job hooks: %v", got)
		}
		if err := (&HookFaults{Events: []string{"Push Hook"}}).normalize(); err == nil {
			t.Error("an unknown event was accepted")
		}
	})
}

func TestAFailingOrSlowReceiverIsCountedAndTheNextDeliveriesStillGo(t *testing.T) {
	rc := newReceiver(t)
	rc.status = http.StatusInternalServerError
	w := hookWorld(t, Options{HookTimeout: 50 * time.Millisecond}, []HookSpec{{URL: rc.srv.URL, JobEvents: true}},
		[]JobSpec{{Name: "a"}}, nil)
	waitHooks(t, w.s)
	rc.mu.Lock()
	rc.status, rc.delay = http.StatusOK, 300*time.Millisecond
	rc.mu.Unlock()
	if _, err := w.s.SetJobStatus(w.job("a"), StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, w.s)
	rc.mu.Lock()
	rc.delay = 0
	rc.mu.Unlock()
	if _, err := w.s.SetJobStatus(w.job("a"), StatusSuccess, ""); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, w.s)
	if got := statuses(jobEvents(t, rc), w.job("a")); !slices.Equal(got, []string{"pending", "running", "success"}) {
		t.Errorf("received %v", got)
	}
	if c := w.s.Stats().HookTotals(); c.Failed != 2 || c.Sent != 1 {
		t.Errorf("a 500 and a timeout are failures, the last one sent: %+v", c)
	}
}

func TestHooksOnlyHearTheirOwnProjectAndEvents(t *testing.T) {
	jobsRC, pipelinesRC, otherRC := newReceiver(t), newReceiver(t), newReceiver(t)
	w := hookWorld(t, Options{}, []HookSpec{
		{URL: jobsRC.srv.URL, JobEvents: true},
		{URL: pipelinesRC.srv.URL, PipelineEvents: true},
	}, []JobSpec{{Name: "a"}}, nil)
	other, _ := w.s.CreateProject(ProjectSpec{PathWithNamespace: "group/other"})
	if _, err := w.s.CreateHook(HookSpec{ProjectID: other.ID, URL: otherRC.srv.URL, JobEvents: true, PipelineEvents: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.SetJobStatus(w.job("a"), StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, w.s)
	if len(jobEvents(t, jobsRC)) != 2 || len(pipelineEvents(t, jobsRC)) != 0 ||
		len(pipelineEvents(t, pipelinesRC)) != 2 || len(jobEvents(t, pipelinesRC)) != 0 || len(otherRC.received()) != 0 {
		t.Errorf("jobs hook %d, pipelines hook %d, other project's hook %d",
			len(jobsRC.received()), len(pipelinesRC.received()), len(otherRC.received()))
	}
}

func TestOneEventToTwoHooksSharesItsEventUUID(t *testing.T) {
	a, b := newReceiver(t), newReceiver(t)
	w := hookWorld(t, Options{}, []HookSpec{{URL: a.srv.URL, JobEvents: true}, {URL: b.srv.URL, JobEvents: true}}, []JobSpec{{Name: "x"}}, nil)
	waitHooks(t, w.s)
	ha, hb := a.received()[0].req.Header, b.received()[0].req.Header
	if ha.Get("X-Gitlab-Event-UUID") != hb.Get("X-Gitlab-Event-UUID") || ha.Get("X-Gitlab-Webhook-UUID") == hb.Get("X-Gitlab-Webhook-UUID") {
		t.Errorf("event uuid %q / %q, webhook uuid %q / %q", ha.Get("X-Gitlab-Event-UUID"), hb.Get("X-Gitlab-Event-UUID"),
			ha.Get("X-Gitlab-Webhook-UUID"), hb.Get("X-Gitlab-Webhook-UUID"))
	}
}

func TestHooksThroughTheAdminAPIAndFixtures(t *testing.T) {
	rc := newReceiver(t)
	s, url := start(t, Options{AdminToken: "adm"})
	admin := "X-Sim-Admin-Token: adm"
	if _, err := LoadFixture(s, mustFixture(t, `
users: [{username: alice, token: glpat-alice}]
projects: [{path_with_namespace: group/app}]
hooks: [{project_path: group/app, url: "`+rc.srv.URL+`", token: t0k, job_events: true}]
pipelines: [{project_path: group/app, jobs: [{name: a}]}]
`)); err != nil {
		t.Fatal(err)
	}
	do(t, "POST", url+"/-/sim/hooks/wait", "", admin).want(t, 204, "")
	if len(jobEvents(t, rc)) != 1 {
		t.Fatalf("a fixture's hook hears its pipelines: %d", len(rc.received()))
	}
	res := do(t, "POST", url+"/-/sim/hooks", `{"project_id":1,"url":"`+rc.srv.URL+`/p","pipeline_events":true}`, admin)
	var h Hook
	res.json(t, &h)
	if res.code != 201 || h.ID != 2 || !h.PipelineEvents || strings.Contains(res.body, "t0k") {
		t.Fatalf("create: %d %s", res.code, res.body)
	}
	if list := do(t, "GET", url+"/-/sim/hooks", "", admin); list.code != 200 || strings.Contains(list.body, "t0k") ||
		!strings.Contains(list.body, `"id":2`) {
		t.Errorf("list: %s", list.body)
	}
	do(t, "POST", url+"/-/sim/hooks", `{"project_id":1,"url":"ftp://x"}`, admin).want(t, 400, "")
	do(t, "POST", url+"/-/sim/hooks", `{"project_id":1,"url":"http://x"}`, admin).want(t, 400, "")
	do(t, "POST", url+"/-/sim/hooks", `{"project_id":9,"url":"http://x","job_events":true}`, admin).want(t, 404, "")
	do(t, "POST", url+"/-/sim/hooks", `{"project_id":1,"url":"http://x"}`).want(t, 401, "")
	res = do(t, "POST", url+"/-/sim/hook-faults", `{"drop_rate":1,"count":2}`, admin)
	if res.code != 200 || !strings.Contains(res.body, `"remaining":2`) {
		t.Errorf("hook faults: %d %s", res.code, res.body)
	}
	do(t, "POST", url+"/-/sim/hook-faults", `{"drop_rate":2}`, admin).want(t, 400, "")
	do(t, "DELETE", url+"/-/sim/hook-faults", "", admin).want(t, 204, "")
	if st := s.HookFaultState(); st.Active {
		t.Errorf("faults after DELETE: %+v", st)
	}
	do(t, "DELETE", url+"/-/sim/hooks/2", "", admin).want(t, 204, "")
	do(t, "DELETE", url+"/-/sim/hooks/2", "", admin).want(t, 404, "")
	if hs := s.Hooks(); len(hs) != 1 || hs[0].ID != 1 {
		t.Errorf("hooks after delete: %+v", hs)
	}
	// Reset forgets hooks: nothing more is sent.
	s.Reset()
	before := len(rc.received())
	if _, err := LoadFixture(s, mustFixture(t, `
users: [{username: alice, token: glpat-alice}]
projects: [{path_with_namespace: group/app}]
pipelines: [{project_path: group/app, jobs: [{name: a}]}]
`)); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, s)
	if len(rc.received()) != before || len(s.Hooks()) != 0 {
		t.Errorf("after Reset a hook still sent or is listed")
	}
}

func mustFixture(t *testing.T, y string) Fixture {
	t.Helper()
	f, err := ParseFixture([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
