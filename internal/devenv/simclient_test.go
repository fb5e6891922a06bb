package devenv

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
)

// The client speaks the admin API as the simulator serves it, so the e2e
// tests read the same facts as in-process tests.
func TestSimClientDrivesTheAdminAPI(t *testing.T) {
	sim := gitlabsim.New(gitlabsim.Options{AdminToken: "admin"})
	defer sim.Close()
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	ctx := context.Background()
	c := NewSimClient(srv.URL, "admin")

	if _, err := c.CreateUser(ctx, gitlabsim.UserSpec{Username: "ops", Token: "glpat-ops"}); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, gitlabsim.ProjectSpec{PathWithNamespace: "g/app"})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := c.CreatePipeline(ctx, gitlabsim.PipelineSpec{ProjectID: p.ID, Jobs: []gitlabsim.JobSpec{{Name: "unit", Status: gitlabsim.StatusRunning}}})
	if err != nil {
		t.Fatal(err)
	}
	id := pl.Jobs[0].ID
	if tok, err := c.JobToken(ctx, id); err != nil || tok == "" {
		t.Fatalf("JobToken = %q, %v", tok, err)
	}
	if err := c.SetJobStatus(ctx, id, gitlabsim.StatusSpec{Status: gitlabsim.StatusFailed, FailureReason: gitlabsim.ReasonScriptFailure}); err != nil {
		t.Fatal(err)
	}
	if j, err := c.Job(ctx, id); err != nil || j.Status != gitlabsim.StatusFailed || j.Name != "unit" {
		t.Fatalf("Job = %+v, %v; want the failed unit job", j, err)
	}
	fs, err := c.SetFaults(ctx, gitlabsim.Faults{ErrorRate: 1, Count: 2})
	if err != nil || !fs.Active || fs.Remaining != 2 {
		t.Fatalf("SetFaults = %+v, %v", fs, err)
	}
	if err := c.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if fs, err := c.Faults(ctx); err != nil || fs.Active {
		t.Fatalf("Faults after ClearFaults = %+v, %v", fs, err)
	}
	if st, err := c.Stats(ctx); err != nil || st.TotalRequests != 0 || st.Actions == nil {
		t.Fatalf("Stats = %+v, %v; want zero requests (the admin API is not counted)", st, err)
	}
	if err := c.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Job(ctx, id); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Job after Reset = %v, want a 404", err)
	}
	wrong := NewSimClient(srv.URL, "not-the-token")
	if _, err := wrong.Stats(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Stats with a wrong admin token = %v, want a 401", err)
	}
}
