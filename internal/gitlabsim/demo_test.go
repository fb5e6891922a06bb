package gitlabsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// The ids in LoadDemoWorld's doc comment are a promise to scripts and e2e
// tests; this test keeps the comment true.
func TestDemoWorldHasTheDocumentedIDs(t *testing.T) {
	s, url := start(t, Options{})
	w, err := LoadDemoWorld(s, DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Token != DemoToken || w.UserID != 1 || w.ViewerID != 2 || w.AppProjectID != 1 || w.InfraProjectID != 2 ||
		w.AppProjectPath != "platform/app" || w.OldPipelineID != 1 || w.MainPipelineID != 2 ||
		w.DownstreamPipelineID != 3 || w.FeaturePipelineID != 4 || w.InfraPipelineID != 5 || w.WatchPipelineID != 6 || w.AgentID != 1 ||
		w.RunningJobID != 13 || w.RunningJobToken == "" {
		t.Fatalf("demo world: %+v", w)
	}
	want := map[string]struct {
		id     int64
		status string
		reason string
	}{
		"old/build": {1, StatusSuccess, ""}, "old/rspec": {2, StatusSuccess, ""},
		"old/lint":   {3, StatusFailed, ReasonScriptFailure},
		"main/build": {4, StatusSuccess, ""}, "main/rspec": {5, StatusFailed, ReasonScriptFailure},
		"main/integration": {6, StatusFailed, ReasonRunnerSystemFailure},
		"main/e2e":         {7, StatusFailed, ReasonStuckOrTimeoutFailure},
		"main/flaky-unit":  {8, StatusFailed, ReasonRunnerSystemFailure},
		"main/rubocop":     {9, StatusFailed, ReasonScriptFailure}, "main/deploy-prod": {10, StatusManual, ""},
		"main/trigger-docs": {11, StatusSuccess, ""}, "feature/docker-build": {12, StatusPending, ""},
		"feature/long-test": {13, StatusRunning, ""}, "feature/package": {14, StatusCreated, ""},
		"feature/deploy-review": {15, StatusPending, ""}, "infra/terraform-plan": {16, StatusFailed, ReasonScriptFailure},
		"infra/terraform-apply": {17, StatusManual, ""}, "infra/nightly-backup": {18, StatusCanceled, ""},
		"watch/unit-shard-1":   {19, StatusFailed, ReasonRunnerSystemFailure},
		"watch/integration-db": {20, StatusFailed, ReasonStuckOrTimeoutFailure},
		"watch/bundle-install": {21, StatusFailed, ReasonScriptFailure},
		"watch/deploy-staging": {22, StatusManual, ""}, "watch/docker-arm64": {23, StatusPending, ""},
	}
	if len(w.Jobs) != len(want) {
		t.Fatalf("demo has %d jobs, doc lists %d", len(w.Jobs), len(want))
	}
	for key, wj := range want {
		j, ok := s.Job(w.Jobs[key])
		if !ok || j.ID != wj.id || j.Status != wj.status || j.FailureReason != wj.reason {
			t.Errorf("%s: %+v, doc says %+v", key, j, wj)
		}
	}

	// The demo can be explored with the GitLab client and its tokens.
	c := client(t, url, w.Token)
	jobs, _, err := c.Jobs.ListProjectJobs("platform/app", &gitlab.ListJobsOptions{Scope: &[]gitlab.BuildStateValue{gitlab.Failed}})
	if err != nil || len(jobs) != 9 {
		t.Fatalf("failed jobs of platform/app: %v %d", err, len(jobs))
	}
	viewer := client(t, url, w.ViewerToken)
	if _, resp, _ := viewer.Jobs.RetryJob("platform/app", 5); statusOf(resp) != http.StatusForbidden {
		t.Errorf("viewer retry: %d, want 403", statusOf(resp))
	}
	if j, _, err := jobClient(t, url, w.RunningJobToken).Jobs.GetJobTokensJob(nil); err != nil || j.ID != 13 {
		t.Errorf("running job token: %v", err)
	}
	res := do(t, "GET", url+"/api/v4/job/allowed_agents", "", "JOB-TOKEN: "+w.RunningJobToken)
	if res.code != 200 || !strings.Contains(res.body, `"path_with_namespace":"platform/infra"`) || !strings.Contains(res.body, `"slug":"review-feature-login"`) {
		t.Errorf("allowed_agents: %s", res.body)
	}

	// A second load on the same server fails cleanly (the users exist).
	if _, err := LoadDemoWorld(s, DemoOptions{}); err == nil {
		t.Error("loading the demo twice succeeded")
	}
	// After a reset it loads again with the same ids and a custom token.
	s.Reset()
	w2, err := LoadDemoWorld(s, DemoOptions{Token: "glpat-custom"})
	if err != nil || w2.Jobs["main/deploy-prod"] != 10 || w2.Token != "glpat-custom" {
		t.Fatalf("reload: %v %+v", err, w2)
	}
}

func TestDemoFlakyJobPassesOnTheSecondRetryUnderTheLifecycle(t *testing.T) {
	s, url := start(t, Options{Lifecycle: fastLifecycle()})
	w, err := LoadDemoWorld(s, DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, url, w.Token)
	id := w.Jobs["main/flaky-unit"]
	var statuses []string
	for i := 0; i < 2; i++ {
		n, _, err := c.Jobs.RetryJob("platform/app", id)
		if err != nil {
			t.Fatal(err)
		}
		id = n.ID
		waitFor(t, func() bool { j, _ := s.Job(id); return isFinished(j.Status) })
		j, _ := s.Job(id)
		statuses = append(statuses, j.Status)
	}
	if statuses[0] != StatusFailed || statuses[1] != StatusSuccess {
		t.Fatalf("retries ended %v, want failed then success", statuses)
	}
	log, _ := s.JobTrace(w.Jobs["feature/long-test"])
	if j, _ := s.Job(w.Jobs["feature/long-test"]); j.Status != StatusRunning || log == "" {
		t.Fatalf("the stuck running job moved: %+v", j)
	}
}

// The demo's JobWatch relies on pipeline 6 behaving as documented: the
// pending job is old enough for a "pending too long" rule, the script failure
// has a network error at the end of its log, and unit-shard-1 fails once more
// before it passes.
func TestDemoWatchPipelineBehavesAsDocumented(t *testing.T) {
	s, url := start(t, Options{Lifecycle: fastLifecycle()})
	w, err := LoadDemoWorld(s, DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Job(w.Jobs["watch/docker-arm64"]); time.Since(j.CreatedAt) < 29*time.Minute || j.StartedAt != nil {
		t.Errorf("docker-arm64 should have been pending for 30 minutes: %+v", j)
	}
	if log, _ := s.JobTrace(w.Jobs["watch/bundle-install"]); !strings.Contains(log, "Could not resolve host: rubygems.org") {
		t.Errorf("bundle-install log: %q", log)
	}
	c := client(t, url, w.Token)
	id := w.Jobs["watch/unit-shard-1"]
	var statuses []string
	for range 2 {
		n, _, err := c.Jobs.RetryJob("platform/app", id)
		if err != nil {
			t.Fatal(err)
		}
		id = n.ID
		waitFor(t, func() bool { j, _ := s.Job(id); return isFinished(j.Status) })
		j, _ := s.Job(id)
		statuses = append(statuses, j.Status+":"+j.FailureReason)
	}
	if statuses[0] != StatusFailed+":"+ReasonRunnerSystemFailure || statuses[1] != StatusSuccess+":" {
		t.Fatalf("unit-shard-1 retries ended %v, want a runner failure then success", statuses)
	}
	for _, name := range []string{"integration-db", "bundle-install"} {
		n, _, err := c.Jobs.RetryJob("platform/app", w.Jobs["watch/"+name])
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { j, _ := s.Job(n.ID); return isFinished(j.Status) })
		if j, _ := s.Job(n.ID); j.Status != StatusSuccess {
			t.Errorf("%s retry ended %s", name, j.Status)
		}
	}
}
