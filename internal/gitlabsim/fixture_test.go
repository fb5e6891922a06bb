package gitlabsim

import (
	"strings"
	"testing"
)

const fixtureYAML = `
users:
  - {username: alice, token: glpat-alice}
projects:
  - {id: 7, path_with_namespace: group/app, members: [{username: alice, role: developer}]}
pipelines:
  - project_id: 7
    ref: main
    username: alice
    created_at: "2024-01-02T03:04:05Z"
    jobs:
      - {name: rspec, status: failed, failure_reason: script_failure, trace: "Could not resolve host: x"}
      - name: flaky
        status: pending
        outcomes:
          - failed:runner_system_failure
          - {status: success}
    bridges:
      - {name: trigger, status: success, downstream_status: failed}
  - project_path: group/app
    jobs: [{name: deploy, when: manual}]
agents:
  - {id: 5, config_project_id: 7, authorized_project_ids: [7]}
`

func TestFixtureLoadsTheAdminShapesFromYAML(t *testing.T) {
	f, err := ParseFixture([]byte(fixtureYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pipelines[0].Jobs[1].Outcomes) != 2 || f.Pipelines[0].Jobs[1].Outcomes[0].FailureReason != ReasonRunnerSystemFailure {
		t.Fatalf("outcomes: %+v", f.Pipelines[0].Jobs[1].Outcomes)
	}
	s, url := start(t, Options{})
	res, err := LoadFixture(s, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Users) != 1 || res.Projects[0].ID != 7 || len(res.Pipelines) != 2 || res.Agents[0].ID != 5 {
		t.Fatalf("result: %+v", res)
	}
	j, _ := s.Job(res.Pipelines[0].Jobs[0].ID)
	if j.CreatedAt.Year() != 2024 || j.Username != "alice" || j.FailureReason != ReasonScriptFailure {
		t.Fatalf("job: %+v", j)
	}
	if deploy, _ := s.Job(res.Pipelines[1].Jobs[0].ID); deploy.Status != StatusManual {
		t.Fatalf("deploy: %+v", deploy)
	}
	do(t, "GET", url+"/api/v4/projects/group%2Fapp/jobs", "", auth("glpat-alice")).want(t, 200, "")

	for _, bad := range []string{
		"users: [{username: a, tokn: x}]",                                    // unknown field
		"pipelines: [{project_id: 1, jobs: [{name: x, outcomes: [maybe]}]}]", // bad outcome
	} {
		if _, err := ParseFixture([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := LoadFixture(s, Fixture{Pipelines: []PipelineSpec{{ProjectID: 99}}}); err == nil ||
		!strings.Contains(err.Error(), "pipelines[0]") {
		t.Errorf("unknown project: %v", err)
	}
}
