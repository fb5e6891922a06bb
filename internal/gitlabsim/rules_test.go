package gitlabsim

import (
	"net/http"
	"testing"
	"time"
)

// State rules of jobs, as GitLab enforces them.

func post(t *testing.T, w world, id int64, action, body string) response {
	t.Helper()
	return do(t, "POST", w.url+"/api/v4/projects/1/jobs/"+itoa(id)+"/"+action, body, auth(testToken))
}

func TestRetryRules(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "running", Status: StatusRunning},
		{Name: "pending", Status: StatusPending},
		{Name: "manual", When: "manual"},
		{Name: "skipped", Status: StatusSkipped},
		{Name: "failed", Status: StatusFailed},
		{Name: "success", Status: StatusSuccess},
		{Name: "canceled", Status: StatusCanceled},
		{Name: "canceling", Status: StatusCanceling},
	}, nil)
	for name, code := range map[string]int{
		"running": 403, "pending": 403, "manual": 403, "skipped": 403,
		"failed": 201, "success": 201, "canceled": 201, "canceling": 201,
	} {
		if got := post(t, w, w.job(name), "retry", "").code; got != code {
			t.Errorf("retry %s: %d, want %d", name, got, code)
		}
	}
	// An attempt that was retried is not retryable again: retry the newest.
	post(t, w, w.job("failed"), "retry", "").want(t, 403, `{"message":"403 Forbidden - Job is not retryable"}`)
}

func TestPlayRules(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "manual", When: "manual"},
		{Name: "scheduled", When: "delayed", Status: StatusScheduled},
		{Name: "done-manual", When: "manual", Status: StatusSuccess},
		{Name: "pending", Status: StatusPending},
		{Name: "failed", Status: StatusFailed},
	}, nil)
	for name, code := range map[string]int{"pending": 400, "failed": 400, "manual": 200, "scheduled": 200} {
		if got := post(t, w, w.job(name), "play", "").code; got != code {
			t.Errorf("play %s: %d, want %d", name, got, code)
		}
	}
	// Playing it again: it is pending now, not manual.
	post(t, w, w.job("manual"), "play", "").want(t, 400, `{"message":"400 Bad request - Unplayable Job"}`)
	// A finished manual job is played by retrying it: a new attempt, but the
	// answer is the job that was asked for, unchanged.
	before := do(t, "GET", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("done-manual")), "", auth(testToken))
	res := post(t, w, w.job("done-manual"), "play", `{"job_variables_attributes":[{"key":"K","value":"V"}]}`)
	var j, was struct {
		ID       int64
		Status   string
		Pipeline struct{ Status string }
	}
	res.json(t, &j)
	before.json(t, &was)
	if res.code != 200 || j.ID != w.job("done-manual") || j.Status != StatusSuccess || j.Status != was.Status {
		t.Fatalf("play finished manual answered %d %s, want 200 with job %d as it was", res.code, res.body, w.job("done-manual"))
	}
	old, _ := w.s.Job(w.job("done-manual"))
	n, ok := w.s.LatestAttempt(w.pl.ID, "done-manual")
	if !ok || !old.Retried || n.RetryOf != old.ID || n.Status != StatusPending || n.Username != "alice" {
		t.Fatalf("old %+v new %+v", old, n)
	}
	if len(n.Variables) != 0 {
		t.Errorf("the new attempt took the variables sent to play: %+v (GitLab retries with the old attempt's)", n.Variables)
	}
	// The new attempt is a manual job that has not run: playing it enqueues it.
	if got := post(t, w, n.ID, "play", "").code; got != 400 {
		t.Errorf("play of the pending new attempt: %d, want 400", got)
	}
}

func TestEraseRules(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "running", Status: StatusRunning, Trace: "x"},
		{Name: "no-log", Status: StatusSuccess},
		{Name: "artifacts-only", Status: StatusSuccess, Artifacts: true},
		{Name: "logged", Status: StatusFailed, Trace: "x"},
	}, nil)
	post(t, w, w.job("running"), "erase", "").want(t, 403, `{"message":"403 Forbidden - Job is not erasable!"}`)
	post(t, w, w.job("no-log"), "erase", "").want(t, 403, `{"message":"403 Forbidden - Job is not erasable!"}`)
	post(t, w, w.job("artifacts-only"), "erase", "").want(t, 201, "")
	post(t, w, w.job("logged"), "erase", "").want(t, 201, "")
	// Erased: nothing left to erase.
	post(t, w, w.job("logged"), "erase", "").want(t, 403, `{"message":"403 Forbidden - Job is not erasable!"}`)
	tr := do(t, "GET", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("logged"))+"/trace", "", auth(testToken))
	if tr.code != 200 || tr.body != "" {
		t.Fatalf("trace after erase: %d %q", tr.code, tr.body)
	}
}

func TestCancelOfFinishedJobIs201AndChangesNothing(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "done", Status: StatusFailed, FailureReason: ReasonScriptFailure}}, nil)
	before := do(t, "GET", w.url+"/api/v4/projects/1/jobs/"+itoa(w.job("done")), "", auth(testToken))
	res := post(t, w, w.job("done"), "cancel", "")
	if res.code != 201 {
		t.Fatalf("cancel finished: %d", res.code)
	}
	if res.body != before.body {
		t.Fatalf("cancel changed the job:\n%s\n%s", before.body, res.body)
	}
	if j, _ := w.s.Job(w.job("done")); j.Status != StatusFailed || j.FailureReason != ReasonScriptFailure {
		t.Fatalf("job: %+v", j)
	}
}

func TestCancelOfRunningJobGoesThroughCanceling(t *testing.T) {
	w := newWorld(t, Options{CancelingDuration: 20 * time.Millisecond}, []JobSpec{
		{Name: "run", Status: StatusRunning},
		{Name: "manual", When: "manual"},
	}, nil)
	tok, _ := w.s.JobToken(w.job("run"))
	res := post(t, w, w.job("run"), "cancel", "")
	var j struct{ Status string }
	res.json(t, &j)
	if res.code != 201 || j.Status != StatusCanceling {
		t.Fatalf("cancel running: %d %s", res.code, res.body)
	}
	// While canceling the token still works.
	do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 200, "")
	waitFor(t, func() bool { j, _ := w.s.Job(w.job("run")); return j.Status == StatusCanceled })
	do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 401, "")
	// Manual jobs are cancelable.
	res = post(t, w, w.job("manual"), "cancel", "")
	res.json(t, &j)
	if j.Status != StatusCanceled {
		t.Fatalf("cancel manual: %s", res.body)
	}
}

func TestJobTokenStopsWorkingWhenItsJobFinishes(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "run", Status: StatusPending}}, nil)
	if _, err := w.s.JobToken(w.job("run")); err == nil {
		t.Fatal("a job that never ran has a token")
	}
	if _, err := w.s.SetJobStatus(w.job("run"), StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	tok, err := w.s.JobToken(w.job("run"))
	if err != nil {
		t.Fatal(err)
	}
	do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 200, "")
	if _, err := w.s.SetJobStatus(w.job("run"), StatusSuccess, ""); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 401, `{"message":"401 Unauthorized"}`)
	do(t, "GET", w.url+"/api/v4/projects/1/jobs", "", "JOB-TOKEN: "+tok).want(t, 401, "")
	// A new run has a new token; the old one stays dead.
	_, _ = w.s.SetJobStatus(w.job("run"), StatusRunning, "")
	tok2, _ := w.s.JobToken(w.job("run"))
	if tok2 == tok {
		t.Fatal("a new run reuses the token")
	}
	do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 401, "")
	do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok2).want(t, 200, "")
}

func TestPipelineStatusFollowsItsLatestJobs(t *testing.T) {
	for _, tc := range []struct {
		name string
		jobs []JobSpec
		want string
	}{
		{"all success", []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusSkipped}}, StatusSuccess},
		{"one failed", []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusFailed}}, StatusFailed},
		{"allowed failure", []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusFailed, AllowFailure: ptr(true)}}, StatusSuccess},
		{"running", []JobSpec{{Name: "a", Status: StatusRunning}, {Name: "b", Status: StatusFailed}}, StatusRunning},
		{"waiting on a blocking manual job", []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", When: "manual", AllowFailure: ptr(false)}}, StatusManual},
		// when: manual alone is allow_failure: true, which does not hold the pipeline.
		{"an optional manual job", []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", When: "manual"}}, StatusSuccess},
		{"canceled", []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusCanceled}}, StatusCanceled},
		{"pending", []JobSpec{{Name: "a", Status: StatusPending}, {Name: "b", Status: StatusCreated}}, StatusPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Options{}, tc.jobs, nil)
			if w.pl.Status != tc.want {
				t.Fatalf("status %s, want %s", w.pl.Status, tc.want)
			}
		})
	}
	// A retry replaces the failed attempt in the status.
	w := newWorld(t, Options{}, []JobSpec{{Name: "a", Status: StatusSuccess}, {Name: "b", Status: StatusFailed}}, nil)
	c := client(t, w.url, testToken)
	n, _, err := c.Jobs.RetryJob(1, w.job("b"))
	if err != nil || n.Pipeline.Status != StatusRunning {
		t.Fatalf("after retry: %v %+v", err, n.Pipeline)
	}
	if _, err := w.s.SetJobStatus(n.ID, StatusSuccess, ""); err != nil {
		t.Fatal(err)
	}
	j, _, _ := c.Jobs.GetJob(1, w.job("a"))
	if j.Pipeline.Status != StatusSuccess {
		t.Fatalf("after the retry passed: %+v", j.Pipeline)
	}
}

func TestAnActionOnAnotherProjectsJobIs404(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed}}, nil)
	p, _ := w.s.CreateProject(ProjectSpec{PathWithNamespace: "group/other"})
	res := do(t, "POST", w.url+"/api/v4/projects/"+itoa(p.ID)+"/jobs/"+itoa(w.job("x"))+"/retry", "", auth(testToken))
	res.want(t, http.StatusNotFound, `{"message":"404 Not found"}`)
}

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
