package gitlabsim

import (
	"slices"
	"testing"
)

// Stage order and needs under the lifecycle engine, as GitLab's pipeline
// processing (Ci::PipelineProcessing::AtomicProcessingService,
// Ci::ProcessBuildService, Ci::ResetSkippedJobsService) moves jobs.

func latestStatus(t *testing.T, w world, name string) string {
	t.Helper()
	j, ok := w.s.LatestAttempt(w.pl.ID, name)
	if !ok {
		t.Fatalf("no job %s", name)
	}
	return j.Status
}

func waitStatus(t *testing.T, w world, name, status string) Job {
	t.Helper()
	waitFor(t, func() bool { return latestStatus(t, w, name) == status })
	j, _ := w.s.LatestAttempt(w.pl.ID, name)
	return j
}

func pipelineStatus(w world) string {
	pl, _ := w.s.Pipeline(w.pl.ID)
	return pl.Status
}

func TestAStageStartsWhenTheStagesBeforeItHaveSucceeded(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "compile", Stage: "build"},
		{Name: "unit", Stage: "test", Status: StatusCreated},
		{Name: "lint", Stage: "test", Status: StatusCreated},
		{Name: "ship", Stage: "deploy", Status: StatusCreated},
	}, nil)
	ship := waitStatus(t, w, "ship", StatusSuccess)
	compile, _ := w.s.Job(w.job("compile"))
	for _, name := range []string{"unit", "lint"} {
		j, _ := w.s.Job(w.job(name))
		if j.Status != StatusSuccess || j.StartedAt.Before(*compile.FinishedAt) || ship.StartedAt.Before(*j.FinishedAt) {
			t.Errorf("%s ran out of stage order: compile %v..%v, %s %v..%v, ship from %v",
				name, compile.StartedAt, compile.FinishedAt, name, j.StartedAt, j.FinishedAt, ship.StartedAt)
		}
	}
	if st := pipelineStatus(w); st != StatusSuccess {
		t.Errorf("pipeline %s, want success", st)
	}
}

func TestAFailedStageSkipsLaterStagesExceptAlwaysAndOnFailureJobs(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "compile", Stage: "build", Outcomes: []Outcome{{Status: StatusFailed, FailureReason: ReasonScriptFailure}}},
		{Name: "unit", Stage: "test", Status: StatusCreated},
		{Name: "cleanup", Stage: "test", Status: StatusCreated, When: "always"},
		{Name: "notify", Stage: "test", Status: StatusCreated, When: "on_failure"},
		{Name: "ship", Stage: "deploy", Status: StatusCreated, When: "manual"},
	}, nil)
	waitStatus(t, w, "cleanup", StatusSuccess)
	waitStatus(t, w, "notify", StatusSuccess)
	for _, name := range []string{"unit", "ship"} {
		if st := latestStatus(t, w, name); st != StatusSkipped {
			t.Errorf("%s: %s, want skipped after the build stage failed", name, st)
		}
	}
	if st := pipelineStatus(w); st != StatusFailed {
		t.Errorf("pipeline %s, want failed", st)
	}
}

func TestAnAllowedFailureDoesNotBlockTheNextStageButOnFailureJobsSkip(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "compile", Stage: "build"},
		{Name: "audit", Stage: "build", AllowFailure: ptr(true), Outcomes: []Outcome{{Status: StatusFailed}}},
		{Name: "unit", Stage: "test", Status: StatusCreated},
		{Name: "notify", Stage: "test", Status: StatusCreated, When: "on_failure"},
	}, nil)
	waitStatus(t, w, "unit", StatusSuccess)
	waitStatus(t, w, "notify", StatusSkipped)
	if st := pipelineStatus(w); st != StatusSuccess {
		t.Errorf("pipeline %s, want success (with warnings)", st)
	}
}

func TestManualJobsWaitAsManualAndOnlyBlockingOnesHoldLaterStages(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "compile", Stage: "build"},
		{Name: "optional", Stage: "build", Status: StatusCreated, When: "manual"},
		{Name: "unit", Stage: "test", Status: StatusCreated},
		{Name: "gate", Stage: "test", Status: StatusCreated, When: "manual", AllowFailure: ptr(false)},
		{Name: "ship", Stage: "deploy", Status: StatusCreated},
	}, nil)
	// optional is in the first stage: it is made manual at once and the
	// test stage does not wait for it.
	waitStatus(t, w, "unit", StatusSuccess)
	if st := latestStatus(t, w, "optional"); st != StatusManual {
		t.Errorf("optional: %s, want manual", st)
	}
	waitStatus(t, w, "gate", StatusManual)
	// gate is allow_failure: false, so deploy waits for someone to play it.
	if st := latestStatus(t, w, "ship"); st != StatusCreated {
		t.Errorf("ship: %s, want created while the blocking manual job waits", st)
	}
	if st := pipelineStatus(w); st != StatusManual {
		t.Errorf("pipeline %s, want manual (blocked)", st)
	}
	if _, _, err := client(t, w.url, testToken).Jobs.PlayJob("group/app", w.job("gate"), nil); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, w, "ship", StatusSuccess)
	if st := latestStatus(t, w, "optional"); st != StatusManual {
		t.Errorf("optional after the pipeline ran: %s, want manual", st)
	}
}

func TestRetryingAFailedJobReopensTheStagesItSkipped(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "compile", Stage: "build", Outcomes: []Outcome{{Status: StatusFailed}, {Status: StatusSuccess}}},
		{Name: "unit", Stage: "test", Status: StatusCreated},
		{Name: "ship", Stage: "deploy", Status: StatusCreated},
	}, nil)
	waitStatus(t, w, "ship", StatusSkipped)
	c := client(t, w.url, testToken)
	if _, _, err := c.Jobs.RetryJob("group/app", w.job("compile")); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, w, "ship", StatusSuccess)
	if st := latestStatus(t, w, "unit"); st != StatusSuccess {
		t.Errorf("unit: %s", st)
	}
	// The skipped jobs themselves ran again: same ids, no new attempts.
	if j, _ := w.s.LatestAttempt(w.pl.ID, "ship"); j.ID != w.job("ship") || j.RetryOf != 0 {
		t.Errorf("ship: %+v", j)
	}
	if st := pipelineStatus(w); st != StatusSuccess {
		t.Errorf("pipeline %s, want success", st)
	}
}

func TestRetryResetsSkippedLaterJobsEvenWithoutTheEngine(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{
		{Name: "compile", Stage: "build", Status: StatusFailed},
		{Name: "other", Stage: "build", Status: StatusSkipped},
		{Name: "fix", Stage: "build", Status: StatusSkipped, Needs: []string{"compile"}},
		{Name: "unit", Stage: "test", Status: StatusSkipped},
		{Name: "ship", Stage: "deploy", Status: StatusSkipped},
	}, nil)
	c := client(t, w.url, testToken)
	if _, _, err := c.Jobs.RetryJob("group/app", w.job("compile")); err != nil {
		t.Fatal(err)
	}
	// Later stages and the jobs that need it are reset; a skipped job of the
	// same stage that does not need it is not. Nothing moves further without
	// the engine.
	for name, want := range map[string]string{"unit": StatusCreated, "ship": StatusCreated, "fix": StatusCreated, "other": StatusSkipped} {
		if st := latestStatus(t, w, name); st != want {
			t.Errorf("%s after the retry: %s, want %s", name, st, want)
		}
	}
}

func TestNeedsStartAJobBeforeItsStageAndSkipItWhenANeedIsSkipped(t *testing.T) {
	w := newWorld(t, Options{Lifecycle: fastLifecycle()}, []JobSpec{
		{Name: "slow", Stage: "build", Stuck: true},
		{Name: "docs", Stage: "test", Status: StatusCreated, Needs: []string{}},
		{Name: "lint", Stage: "build", Status: StatusFailed},
		{Name: "fix", Stage: "test", Status: StatusCreated, Needs: []string{"lint"}},
		{Name: "after-fix", Stage: "deploy", Status: StatusCreated, Needs: []string{"fix"}},
		{Name: "unit", Stage: "test", Status: StatusCreated},
	}, nil)
	// docs needs nothing, so it runs while the build stage is still going.
	waitStatus(t, w, "docs", StatusSuccess)
	// fix needs a failed job: skipped; after-fix needs a skipped one: skipped.
	waitStatus(t, w, "after-fix", StatusSkipped)
	if st := latestStatus(t, w, "fix"); st != StatusSkipped {
		t.Errorf("fix: %s", st)
	}
	// unit waits for the whole build stage, which never ends.
	if st := latestStatus(t, w, "unit"); st != StatusCreated {
		t.Errorf("unit: %s, want created behind the stuck build stage", st)
	}
	if _, err := w.s.CreatePipeline(PipelineSpec{ProjectID: 1, Jobs: []JobSpec{{Name: "a", Needs: []string{"b"}}}}); err == nil {
		t.Error("needs naming no job of the pipeline was accepted")
	}
}

func TestStagesFollowTheSpecOrGitLabsDefaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		given  []string
		jobs   []string
		want   []string
		failed bool
	}{
		{"defaults", nil, []string{"deploy", "test", "build"}, []string{"build", "test", "deploy"}, false},
		{"pre and post", nil, []string{".post", "test", ".pre"}, []string{".pre", "test", ".post"}, false},
		{"first appearance", nil, []string{"plan", "apply", "test"}, []string{"plan", "apply", "test"}, false},
		{"given", []string{"lint", "test", "ship"}, []string{"ship", "lint"}, []string{"lint", "ship"}, false},
		{"given without a used stage", []string{"lint"}, []string{"test"}, nil, true},
	} {
		var jobs []JobSpec
		for _, st := range tc.jobs {
			jobs = append(jobs, JobSpec{Name: st + "-job", Stage: st})
		}
		got, err := stageOrder(tc.given, jobs, nil)
		if (err != nil) != tc.failed || (!tc.failed && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}
