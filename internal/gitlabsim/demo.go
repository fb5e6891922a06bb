package gitlabsim

import (
	"fmt"
	"time"
)

var ptrTrue = func() *bool { t := true; return &t }()

// Demo world defaults.
const (
	DemoToken       = "glpat-demo-operator"
	DemoViewerToken = "glpat-demo-viewer"
)

// DemoOptions adjust LoadDemoWorld.
type DemoOptions struct {
	// Token is the demo user's personal access token; default DemoToken.
	Token string
	// ViewerToken is the viewer's token; default DemoViewerToken.
	ViewerToken string
}

// DemoWorld holds what LoadDemoWorld created.
type DemoWorld struct {
	UserID      int64
	Username    string
	Token       string
	ViewerID    int64
	ViewerToken string

	AppProjectID     int64  // 1
	AppProjectPath   string // "platform/app"
	InfraProjectID   int64  // 2
	InfraProjectPath string // "platform/infra"

	OldPipelineID        int64 // 1
	MainPipelineID       int64 // 2
	DownstreamPipelineID int64 // 3
	FeaturePipelineID    int64 // 4
	InfraPipelineID      int64 // 5
	WatchPipelineID      int64 // 6

	// Jobs maps "<pipeline>/<job name>" (pipelines: old, main, feature,
	// infra, watch) to the job id; see LoadDemoWorld for the table.
	Jobs map[string]int64

	// RunningJobID is feature/long-test; RunningJobToken its CI_JOB_TOKEN.
	RunningJobID    int64
	RunningJobToken string

	AgentID int64 // 1
}

// LoadDemoWorld fills the server with a small, fixed world that shows every
// case the operator handles. On an empty server the ids are always these:
//
// Users
//
//	1 demo    token glpat-demo-operator (DemoOptions.Token)  maintainer everywhere
//	2 viewer  token glpat-demo-viewer                        reporter on platform/app (reads, 403 on actions)
//
// Projects: 1 platform/app (members demo and viewer only), 2 platform/infra
// (open to every user).
//
// Pipelines and jobs ("<pipeline>/<name>" are the DemoWorld.Jobs keys)
//
//	pipeline 1  platform/app  main, three days old, all finished with logs
//	  1  old/build            success, artifacts, log
//	  2  old/rspec            success, log
//	  3  old/lint             failed script_failure, log (old, to be left alone)
//	pipeline 2  platform/app  main
//	  4  main/build           success, artifacts, log
//	  5  main/rspec           failed script_failure; log says "Could not resolve host: rubygems.org"
//	  6  main/integration     failed runner_system_failure; flakiness 0.3 on reruns
//	  7  main/e2e             failed stuck_or_timeout_failure
//	  8  main/flaky-unit      failed runner_system_failure; scripted reruns:
//	                          failed:runner_system_failure ("connection reset by peer"), then success
//	  9  main/rubocop         failed script_failure, allow_failure (a real failure: 3 offenses)
//	 10  main/deploy-prod     manual (when: manual), environment production
//	 11  main/trigger-docs    bridge, success; downstream pipeline 3 failed
//	pipeline 3  platform/infra  downstream of main/trigger-docs, status failed (no jobs)
//	pipeline 4  platform/app  feature/login
//	 12  feature/docker-build pending, stuck (tag "gpu": no runner takes it)
//	 13  feature/long-test    running, stuck (never ends); has a job token
//	 14  feature/package      created (waits for earlier stages)
//	 15  feature/deploy-review bridge, pending, downstream_pipeline null
//	pipeline 5  platform/infra  main
//	 16  infra/terraform-plan  failed script_failure; log says "connection reset by peer"
//	 17  infra/terraform-apply manual
//	 18  infra/nightly-backup  canceled
//	pipeline 6  platform/app  main, for the demo's JobWatch (no JobAction names these jobs)
//	 19  watch/unit-shard-1    failed runner_system_failure; scripted reruns:
//	                          failed:runner_system_failure, then success
//	 20  watch/integration-db  failed stuck_or_timeout_failure; reruns pass
//	 21  watch/bundle-install  failed script_failure; log ends "Could not resolve host: rubygems.org"; reruns pass
//	 22  watch/deploy-staging  manual (when: manual), environment staging
//	 23  watch/docker-arm64    pending since 30 minutes ago, stuck (tag "arm64": no runner takes it)
//
// Agent 1 is configured in platform/infra and authorized for platform/app.
//
// On a server that is not empty the ids differ; DemoWorld has the real ones.
func LoadDemoWorld(s *Server, opts DemoOptions) (DemoWorld, error) {
	if opts.Token == "" {
		opts.Token = DemoToken
	}
	if opts.ViewerToken == "" {
		opts.ViewerToken = DemoViewerToken
	}
	w := DemoWorld{Jobs: map[string]int64{}}
	demo, err := s.CreateUser(UserSpec{Username: "demo", Name: "Demo Operator", Token: opts.Token})
	if err != nil {
		return w, fmt.Errorf("demo user: %w", err)
	}
	viewer, err := s.CreateUser(UserSpec{Username: "viewer", Name: "Demo Viewer", Token: opts.ViewerToken})
	if err != nil {
		return w, fmt.Errorf("demo viewer: %w", err)
	}
	w.UserID, w.Username, w.Token = demo.ID, demo.Username, demo.Token
	w.ViewerID, w.ViewerToken = viewer.ID, viewer.Token

	app, err := s.CreateProject(ProjectSpec{
		PathWithNamespace: "platform/app", Description: "The demo application",
		Members: []MemberSpec{{Username: "demo", Role: "maintainer"}, {Username: "viewer", Role: "reporter"}},
	})
	if err != nil {
		return w, fmt.Errorf("demo project: %w", err)
	}
	infra, err := s.CreateProject(ProjectSpec{PathWithNamespace: "platform/infra", Description: "Infrastructure as code"})
	if err != nil {
		return w, fmt.Errorf("demo project: %w", err)
	}
	w.AppProjectID, w.AppProjectPath = app.ID, app.PathWithNamespace
	w.InfraProjectID, w.InfraProjectPath = infra.ID, infra.PathWithNamespace

	old := time.Now().UTC().Add(-72 * time.Hour)
	add := func(key string, spec PipelineSpec) (Pipeline, error) {
		pl, err := s.CreatePipeline(spec)
		if err != nil {
			return pl, fmt.Errorf("demo pipeline %s: %w", key, err)
		}
		for _, j := range pl.Jobs {
			w.Jobs[key+"/"+j.Name] = j.ID
		}
		for _, j := range pl.Bridges {
			w.Jobs[key+"/"+j.Name] = j.ID
		}
		return pl, nil
	}

	pl, err := add("old", PipelineSpec{
		ProjectID: app.ID, Ref: "main", Username: "demo", CreatedAt: &old,
		Jobs: []JobSpec{
			{Name: "build", Stage: "build", Status: StatusSuccess, Artifacts: true, CreatedAt: &old,
				Trace: "$ make build\nBuilt app in 42s\nJob succeeded\n"},
			{Name: "rspec", Stage: "test", Status: StatusSuccess, CreatedAt: &old,
				Trace: "$ bundle exec rspec\n412 examples, 0 failures\nJob succeeded\n"},
			{Name: "lint", Stage: "test", Status: StatusFailed, FailureReason: ReasonScriptFailure, CreatedAt: &old,
				Trace: "$ make lint\napp/models/user.rb:12: line too long\nERROR: Job failed: exit code 1\n"},
		},
	})
	if err != nil {
		return w, err
	}
	w.OldPipelineID = pl.ID

	pl, err = add("main", PipelineSpec{
		ProjectID: app.ID, Ref: "main", Username: "demo",
		Jobs: []JobSpec{
			{Name: "build", Stage: "build", Status: StatusSuccess, Artifacts: true, TagList: []string{"docker"},
				Trace: "$ make build\nBuilt app in 40s\nJob succeeded\n"},
			{Name: "rspec", Stage: "test", Status: StatusFailed, FailureReason: ReasonScriptFailure, TagList: []string{"docker"},
				Trace: "$ bundle install\nFetching source index from https://rubygems.org/\n" +
					"Could not fetch specs from https://rubygems.org/ due to underlying error " +
					"<Could not resolve host: rubygems.org>\nERROR: Job failed: exit code 17\n"},
			{Name: "integration", Stage: "test", Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure,
				Flakiness: 0.3, FlakyOutcome: &Outcome{Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure},
				Trace: "Preparing the \"docker\" executor\nERROR: Job failed (system failure): " +
					"Error response from daemon: no space left on device\n"},
			{Name: "e2e", Stage: "test", Status: StatusFailed, FailureReason: ReasonStuckOrTimeoutFailure,
				Trace: "$ npm run e2e\nERROR: Job failed: execution took longer than 1h0m0s seconds\n"},
			{Name: "flaky-unit", Stage: "test", Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure,
				Trace: "ERROR: Job failed (system failure): read tcp 10.0.0.5:52344->10.0.0.1:443: read: connection reset by peer\n",
				Outcomes: []Outcome{
					{Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure,
						Log: "read tcp 10.0.0.5:52350->10.0.0.1:443: read: connection reset by peer"},
					{Status: StatusSuccess},
				}},
			{Name: "rubocop", Stage: "test", Status: StatusFailed, FailureReason: ReasonScriptFailure, AllowFailure: ptrTrue,
				Trace: "$ bundle exec rubocop\n3 offenses detected\nERROR: Job failed: exit code 1\n"},
			{Name: "deploy-prod", Stage: "deploy", When: "manual", Status: StatusManual,
				Environment: "production", EnvironmentTier: "production"},
		},
		Bridges: []BridgeSpec{
			{Name: "trigger-docs", Stage: "deploy", Status: StatusSuccess, DownstreamStatus: StatusFailed,
				DownstreamProjectID: infra.ID},
		},
	})
	if err != nil {
		return w, err
	}
	w.MainPipelineID = pl.ID
	if j, ok := s.Job(w.Jobs["main/trigger-docs"]); ok {
		w.DownstreamPipelineID = j.DownstreamPipelineID
	}

	pl, err = add("feature", PipelineSpec{
		ProjectID: app.ID, Ref: "feature/login", Username: "demo",
		Jobs: []JobSpec{
			{Name: "docker-build", Stage: "build", Status: StatusPending, Stuck: true, TagList: []string{"gpu"}},
			{Name: "long-test", Stage: "test", Status: StatusRunning, Stuck: true, Environment: "review/feature-login",
				EnvironmentTier: "development", Trace: "$ make long-test\nrunning 1 of 5000...\n"},
			{Name: "package", Stage: "package", Status: StatusCreated},
		},
		Bridges: []BridgeSpec{{Name: "deploy-review", Stage: "deploy", Status: StatusPending}},
	})
	if err != nil {
		return w, err
	}
	w.FeaturePipelineID = pl.ID
	w.RunningJobID = w.Jobs["feature/long-test"]
	if w.RunningJobToken, err = s.JobToken(w.RunningJobID); err != nil {
		return w, err
	}

	pl, err = add("infra", PipelineSpec{
		ProjectID: infra.ID, Ref: "main", Username: "demo",
		Jobs: []JobSpec{
			{Name: "terraform-plan", Stage: "plan", Status: StatusFailed, FailureReason: ReasonScriptFailure,
				Trace: "$ terraform plan\nError: Get \"https://registry.terraform.io/v1/providers\": " +
					"read tcp 10.0.0.7:40112->151.101.1.1:443: read: connection reset by peer\n"},
			{Name: "terraform-apply", Stage: "apply", When: "manual", Status: StatusManual},
			{Name: "nightly-backup", Stage: "backup", Status: StatusCanceled},
		},
	})
	if err != nil {
		return w, err
	}
	w.InfraPipelineID = pl.ID

	// Last, so that every id above stays as documented.
	queued := time.Now().UTC().Add(-30 * time.Minute)
	pl, err = add("watch", PipelineSpec{
		ProjectID: app.ID, Ref: "main", Username: "demo",
		Jobs: []JobSpec{
			{Name: "unit-shard-1", Stage: "test", Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure,
				Trace: "Preparing the \"docker\" executor\nERROR: Job failed (system failure): " +
					"failed to pull image \"ruby:3.3\": context deadline exceeded\n",
				Outcomes: []Outcome{
					{Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure,
						Log: "ERROR: Preparation failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock"},
					{Status: StatusSuccess},
				}},
			{Name: "integration-db", Stage: "test", Status: StatusFailed, FailureReason: ReasonStuckOrTimeoutFailure,
				Trace:    "$ bin/rails db:setup\nERROR: Job failed: execution took longer than 30m0s seconds\n",
				Outcomes: []Outcome{{Status: StatusSuccess}}},
			{Name: "bundle-install", Stage: "build", Status: StatusFailed, FailureReason: ReasonScriptFailure,
				Trace: "$ bundle install --jobs 4\nFetching source index from https://rubygems.org/\n" +
					"Could not fetch specs from https://rubygems.org/ due to underlying error " +
					"<Could not resolve host: rubygems.org>\nERROR: Job failed: exit code 17\n",
				Outcomes: []Outcome{{Status: StatusSuccess}}},
			{Name: "deploy-staging", Stage: "deploy", When: "manual", Status: StatusManual,
				Environment: "staging", EnvironmentTier: "staging"},
			{Name: "docker-arm64", Stage: "build", Status: StatusPending, Stuck: true, TagList: []string{"arm64"},
				CreatedAt: &queued},
		},
	})
	if err != nil {
		return w, err
	}
	w.WatchPipelineID = pl.ID

	ag, err := s.CreateAgent(AgentSpec{
		Name: "platform-agent", ConfigProjectID: infra.ID, AuthorizedProjectIDs: []int64{app.ID},
		Configuration: map[string]any{"default_namespace": "platform"},
	})
	if err != nil {
		return w, fmt.Errorf("demo agent: %w", err)
	}
	w.AgentID = ag.ID
	return w, nil
}
