package gitlabsim

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func fastLifecycle() *LifecycleOptions {
	return &LifecycleOptions{
		PendingDuration: 5 * time.Millisecond, RunningDuration: 20 * time.Millisecond,
		LogInterval: 5 * time.Millisecond, Tick: time.Millisecond,
	}
}

func TestLifecycleRunsAPendingJobToSuccessWritingItsLog(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{{Name: "build"}}, nil)
	id := w.job("build")
	var sawRunning bool
	var tok string
	waitFor(t, func() bool {
		j, _ := w.s.Job(id)
		if j.Status == StatusRunning && !sawRunning {
			sawRunning = true
			tok, _ = w.s.JobToken(id)
			// While it runs, its token works.
			do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 200, "")
		}
		return j.Status == StatusSuccess
	})
	if !sawRunning {
		t.Error("never saw the job running")
	}
	log, _ := w.s.JobTrace(id)
	if !strings.Contains(log, "Running with gitlab-runner") || !strings.Contains(log, "# output line 4") || !strings.HasSuffix(log, "Job succeeded\n") {
		t.Fatalf("log: %q", log)
	}
	j, _ := w.s.Job(id)
	if j.StartedAt == nil || j.FinishedAt == nil || j.TokenActive {
		t.Fatalf("finished job: %+v", j)
	}
	if tok != "" {
		do(t, "GET", w.url+"/api/v4/job", "", "JOB-TOKEN: "+tok).want(t, 401, "")
	}
}

func TestLifecycleFollowsScriptedOutcomesAcrossRetries(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{{
		Name: "flaky", TagList: []string{"docker"},
		Outcomes: []Outcome{
			{Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure, Log: "connection reset by peer"},
			{Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure},
			{Status: StatusSuccess},
		},
	}}, nil)
	c := client(t, w.url, testToken)
	id := w.job("flaky")
	var reasons []string
	for attempt := 0; attempt < 4; attempt++ {
		waitFor(t, func() bool { j, _ := w.s.Job(id); return isFinished(j.Status) })
		j, _ := w.s.Job(id)
		reasons = append(reasons, j.Status+":"+j.FailureReason)
		if attempt == 0 {
			if log, _ := w.s.JobTrace(id); !strings.Contains(log, "connection reset by peer") {
				t.Errorf("the first outcome's log text is missing: %q", log)
			}
		}
		if j.Status == StatusSuccess {
			break
		}
		n, _, err := c.Jobs.RetryJob("group/app", id)
		if err != nil {
			t.Fatal(err)
		}
		id = n.ID
	}
	want := []string{"failed:runner_system_failure", "failed:runner_system_failure", "success:"}
	if !slices.Equal(reasons, want) {
		t.Fatalf("attempts ended %v, want %v", reasons, want)
	}
}

func TestLifecycleFlakinessIsReproducibleFromTheSeed(t *testing.T) {
	run := func() []string {
		jobs := make([]JobSpec, 20)
		for i := range jobs {
			jobs[i] = JobSpec{Name: "j" + itoa(int64(i)), Flakiness: 0.5}
		}
		w := newWorld(t, Options{Seed: 42, Lifecycle: fastLifecycle()}, jobs, nil)
		var out []string
		for _, ref := range w.pl.Jobs {
			waitFor(t, func() bool { j, _ := w.s.Job(ref.ID); return isFinished(j.Status) })
			j, _ := w.s.Job(ref.ID)
			out = append(out, j.Status)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different runs:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, StatusFailed) || !slices.Contains(a, StatusSuccess) {
		t.Fatalf("flakiness 0.5 over 20 jobs gave %v", a)
	}
}

func TestLifecycleLeavesStuckJobsAndManualJobsAlone(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "stuck", Stuck: true},
		{Name: "manual", When: "manual"},
		{Name: "normal"},
	}, nil)
	waitFor(t, func() bool { j, _ := w.s.Job(w.job("normal")); return j.Status == StatusSuccess })
	for _, name := range []string{"stuck", "manual"} {
		j, _ := w.s.Job(w.job(name))
		if j.Status != StatusPending && j.Status != StatusManual {
			t.Errorf("%s moved to %s", name, j.Status)
		}
	}
	// Played, the manual job runs.
	c := client(t, w.url, testToken)
	if _, _, err := c.Jobs.PlayJob("group/app", w.job("manual"), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { j, _ := w.s.Job(w.job("manual")); return j.Status == StatusSuccess })
}

func TestCloseStopsTheEngine(t *testing.T) {
	s := New(Options{Lifecycle: fastLifecycle()})
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return")
	}
}
