package gitlab

import (
	"context"
	"net/http"
	"slices"
	"testing"
)

func TestJobTokenIsSentAsJOBTOKENAndOnlyIt(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/job", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Job-Token") != "ci-job-token" {
			writeMessage(w, 401, "401 Unauthorized")
			return
		}
		writeJSON(w, 200, jobDoc(5, "request-deploy", "running"))
	})
	jc, err := testClients().JobTokenClient(f.config(t), "ci-job-token")
	if err != nil {
		t.Fatal(err)
	}
	id, err := jc.CurrentJob(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := JobTokenIdentity{JobID: 5, PipelineID: 812, ProjectID: 7, JobName: "request-deploy", Ref: "main",
		JobStatus: "running", UserID: 1, Username: "root"}
	if *id != want {
		t.Fatalf("identity = %+v, want %+v", *id, want)
	}
	h := f.lastHeader()
	if h.Get("Private-Token") != "" || h.Get("Authorization") != "" {
		t.Fatalf("the connection's token went along with the job token: %v", h)
	}
	if f.lastQuery() != "" {
		t.Fatalf("token in the query string: %q", f.lastQuery())
	}
}

func TestFinishedJobsTokenIsUnauthorized(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/job", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, 401, "401 Unauthorized")
	})
	jc, err := testClients().JobTokenClient(f.config(t), "expired")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jc.CurrentJob(context.Background()); ClassOf(err) != Unauthorized {
		t.Fatalf("err = %v", err)
	}
	if _, err := testClients().JobTokenClient(f.config(t), ""); ClassOf(err) != InvalidConfig {
		t.Fatalf("empty job token: %v", err)
	}
}

func TestAllowedAgents(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/job/allowed_agents", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Job-Token") != "tok" {
			writeMessage(w, 404, "404 Job Not Found")
			return
		}
		_, _ = w.Write([]byte(`{
		  "allowed_agents": [
		    {"id": 1, "config_project": {"id": 1, "description": null, "name": "agent-config"}, "configuration": {"default_namespace": "ns"}},
		    {"id": 4, "config_project": {"id": 2}, "configuration": {}}
		  ],
		  "job": {"id": 5},
		  "pipeline": {"id": 812},
		  "project": {"id": 7, "groups": [{"id": 2}, {"id": 3}]},
		  "user": {"id": 1, "name": "Administrator", "username": "root", "roles_in_project": ["developer"]},
		  "environment": {"tier": "production", "slug": "prod"}
		}`))
	})
	jc, err := testClients().JobTokenClient(f.config(t), "tok")
	if err != nil {
		t.Fatal(err)
	}
	a, err := jc.AllowedAgents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.AgentIDs, []int64{1, 4}) || a.JobID != 5 || a.PipelineID != 812 || a.ProjectID != 7 ||
		!slices.Equal(a.GroupIDs, []int64{2, 3}) || a.Username != "root" || a.UserID != 1 ||
		!slices.Equal(a.RolesInProject, []string{"developer"}) || a.EnvironmentTier != "production" || a.EnvironmentSlug != "prod" {
		t.Fatalf("allowed agents = %+v", a)
	}

	other, err := testClients().JobTokenClient(f.config(t), "personal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AllowedAgents(context.Background()); ClassOf(err) != JobNotFoundForToken {
		t.Fatalf("err = %v, want JobNotFoundForToken", err)
	}
}
