package gitlabsim

import (
	_ "embed"
	"fmt"
)

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
	// infra, watch) to the job id; demo.yaml lists them.
	Jobs map[string]int64

	// RunningJobID is feature/long-test; RunningJobToken its CI_JOB_TOKEN.
	RunningJobID    int64
	RunningJobToken string

	AgentID int64 // 1
}

// DemoFixture is the demo world as a fixture (demo.yaml): what
// LoadDemoWorld loads, and a starting point for worlds of one's own.
//
//go:embed demo.yaml
var DemoFixture []byte

// demoPipelines names the fixture's pipelines, in their order, for the keys
// of DemoWorld.Jobs.
var demoPipelines = []string{"old", "main", "feature", "infra", "watch"}

// LoadDemoWorld fills the server with the demo world, DemoFixture, with the
// tokens of opts. On an empty server the ids are always those demo.yaml
// gives:
//
//	users      1 demo (maintainer everywhere), 2 viewer (reporter on platform/app)
//	projects   1 platform/app, 2 platform/infra
//	pipelines  1 old, 2 main, 3 downstream of main/trigger-docs, 4 feature, 5 infra, 6 watch
//	jobs       1-3 old, 4-11 main, 12-15 feature, 16-18 infra, 19-23 watch
//	agent      1, configured in platform/infra and authorized for platform/app
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
	f, err := ParseFixture(DemoFixture)
	if err != nil {
		return w, fmt.Errorf("demo world: %w", err)
	}
	if len(f.Users) != 2 || len(f.Projects) != 2 || len(f.Pipelines) != len(demoPipelines) || len(f.Agents) != 1 {
		return w, fmt.Errorf("demo world: demo.yaml no longer has the users, projects, pipelines and agent DemoWorld names")
	}
	f.Users[0].Token, f.Users[1].Token = opts.Token, opts.ViewerToken
	res, err := LoadFixture(s, f)
	if err != nil {
		return w, fmt.Errorf("demo world: %w", err)
	}
	demo, viewer := res.Users[0], res.Users[1]
	w.UserID, w.Username, w.Token = demo.ID, demo.Username, demo.Token
	w.ViewerID, w.ViewerToken = viewer.ID, viewer.Token
	app, infra := res.Projects[0], res.Projects[1]
	w.AppProjectID, w.AppProjectPath = app.ID, app.PathWithNamespace
	w.InfraProjectID, w.InfraProjectPath = infra.ID, infra.PathWithNamespace
	for i, pl := range res.Pipelines {
		for _, j := range pl.Jobs {
			w.Jobs[demoPipelines[i]+"/"+j.Name] = j.ID
		}
		for _, j := range pl.Bridges {
			w.Jobs[demoPipelines[i]+"/"+j.Name] = j.ID
		}
	}
	w.OldPipelineID, w.MainPipelineID, w.FeaturePipelineID, w.InfraPipelineID, w.WatchPipelineID =
		res.Pipelines[0].ID, res.Pipelines[1].ID, res.Pipelines[2].ID, res.Pipelines[3].ID, res.Pipelines[4].ID
	if j, ok := s.Job(w.Jobs["main/trigger-docs"]); ok {
		w.DownstreamPipelineID = j.DownstreamPipelineID
	}
	w.RunningJobID = w.Jobs["feature/long-test"]
	if w.RunningJobToken, err = s.JobToken(w.RunningJobID); err != nil {
		return w, err
	}
	w.AgentID = res.Agents[0].ID
	return w, nil
}
