package gitlabsim

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// Fixture is a world described in YAML (or JSON) with the admin API's
// shapes, for cmd/gitlab-sim --fixture:
//
//	users:
//	  - {username: alice, token: glpat-alice}
//	projects:
//	  - {id: 7, path_with_namespace: group/app}
//	pipelines:
//	  - project_id: 7
//	    ref: main
//	    username: alice
//	    jobs:
//	      - {name: rspec, status: failed, failure_reason: script_failure, trace: "boom"}
//	      - {name: flaky, status: pending, outcomes: ["failed:runner_system_failure", success]}
//	    bridges:
//	      - {name: trigger, status: success, downstream_status: failed}
//	agents:
//	  - {id: 5, config_project_id: 7, authorized_project_ids: [7]}
//	hooks:
//	  - {project_id: 7, url: "http://127.0.0.1:9292/hooks/x", token: s3cret, job_events: true}
//
// Items are created in that order: users, projects, hooks, pipelines,
// agents, so hooks hear the fixture's own pipelines being created.
// demo.yaml is a complete example.
type Fixture struct {
	Users     []UserSpec     `json:"users,omitempty"`
	Projects  []ProjectSpec  `json:"projects,omitempty"`
	Hooks     []HookSpec     `json:"hooks,omitempty"`
	Pipelines []PipelineSpec `json:"pipelines,omitempty"`
	Agents    []AgentSpec    `json:"agents,omitempty"`
}

// FixtureResult is what loading a fixture created.
type FixtureResult struct {
	Users     []User
	Projects  []Project
	Hooks     []Hook
	Pipelines []Pipeline
	Agents    []Agent
}

// ParseFixture reads YAML or JSON strictly (an unknown field is an error).
func ParseFixture(data []byte) (Fixture, error) {
	var f Fixture
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return Fixture{}, fmt.Errorf("fixture: %w", err)
	}
	return f, nil
}

// LoadFixture creates everything the fixture describes. It stops at the
// first error, leaving what it created so far.
func LoadFixture(s *Server, f Fixture) (FixtureResult, error) {
	var out FixtureResult
	for i, u := range f.Users {
		v, err := s.CreateUser(u)
		if err != nil {
			return out, fmt.Errorf("fixture users[%d]: %w", i, err)
		}
		out.Users = append(out.Users, v)
	}
	for i, p := range f.Projects {
		v, err := s.CreateProject(p)
		if err != nil {
			return out, fmt.Errorf("fixture projects[%d]: %w", i, err)
		}
		out.Projects = append(out.Projects, v)
	}
	for i, h := range f.Hooks {
		v, err := s.CreateHook(h)
		if err != nil {
			return out, fmt.Errorf("fixture hooks[%d]: %w", i, err)
		}
		out.Hooks = append(out.Hooks, v)
	}
	for i, p := range f.Pipelines {
		v, err := s.CreatePipeline(p)
		if err != nil {
			return out, fmt.Errorf("fixture pipelines[%d]: %w", i, err)
		}
		out.Pipelines = append(out.Pipelines, v)
	}
	for i, a := range f.Agents {
		v, err := s.CreateAgent(a)
		if err != nil {
			return out, fmt.Errorf("fixture agents[%d]: %w", i, err)
		}
		out.Agents = append(out.Agents, v)
	}
	return out, nil
}
