package gitlabsim

import (
	"encoding/json"
	"strings"
	"time"
)

// The JSON GitLab's webhooks carry: the Job Hook of
// lib/gitlab/data_builder/build.rb and the Pipeline Hook of
// lib/gitlab/data_builder/pipeline.rb, with the project, user, commit and
// runner attributes they embed (hook_attrs). Built under the store's lock,
// at the moment of the change they announce.

// hookTime is how a time reaches a receiver in the fields without _iso:
// the data builders put Time objects in the payload and Sidekiq's JSON turns
// them into Ruby's Time#to_s, "2021-02-23 02:41:37 UTC". The _iso fields
// were added because of it.
type hookTime time.Time

func (t hookTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format("2006-01-02 15:04:05 UTC"))
}

// isoTime is Time#iso8601: seconds, UTC, "Z".
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format("2006-01-02T15:04:05Z"))
}

func optHookTime(t time.Time) *hookTime {
	if t.IsZero() {
		return nil
	}
	v := hookTime(t)
	return &v
}

func optISOTime(t time.Time) *isoTime {
	if t.IsZero() {
		return nil
	}
	v := isoTime(t)
	return &v
}

// hookUser is User#hook_attrs; the email is the public one, which the
// simulator's users do not set, so GitLab's placeholder.
type hookUser struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Username  string `json:"username"`
	AvatarURL string `json:"avatar_url"`
	Email     string `json:"email"`
}

func hookUserOf(u *user) *hookUser {
	if u == nil {
		return nil
	}
	return &hookUser{ID: u.id, Name: u.name, Username: u.username, AvatarURL: u.avatarURL, Email: "[REDACTED]"}
}

// hookProject is Project#hook_attrs(backward: false).
type hookProject struct {
	ID                int64   `json:"id"`
	Name              string  `json:"name"`
	Description       *string `json:"description"`
	WebURL            string  `json:"web_url"`
	AvatarURL         *string `json:"avatar_url"`
	GitSSHURL         string  `json:"git_ssh_url"`
	GitHTTPURL        string  `json:"git_http_url"`
	Namespace         string  `json:"namespace"`
	VisibilityLevel   int     `json:"visibility_level"`
	PathWithNamespace string  `json:"path_with_namespace"`
	DefaultBranch     string  `json:"default_branch"`
	CIConfigPath      *string `json:"ci_config_path"`
}

func hookProjectOf(base string, p *project) hookProject {
	ssh, http := repoURLs(base, p.path)
	var desc *string
	if p.description != "" {
		d := p.description
		desc = &d
	}
	ns := p.namespace()
	return hookProject{
		ID: p.id, Name: p.name, Description: desc, WebURL: base + "/" + p.path, GitSSHURL: ssh, GitHTTPURL: http,
		Namespace: ns[strings.LastIndex(ns, "/")+1:], PathWithNamespace: p.path, DefaultBranch: p.defaultBranch,
	}
}

type hookRunner struct {
	ID          int64    `json:"id"`
	Description string   `json:"description"`
	RunnerType  string   `json:"runner_type"`
	Active      bool     `json:"active"`
	IsShared    bool     `json:"is_shared"`
	Tags        []string `json:"tags"`
}

// hookRunnerOf is the simulator's one runner, once the job has started; it
// has the job's tags, which is why it could take the job.
func hookRunnerOf(j *job) *hookRunner {
	if j.startedAt.IsZero() {
		return nil
	}
	tags := append([]string{}, j.tagList...)
	return &hookRunner{ID: 1, Description: "gitlab-sim runner", RunnerType: "instance_type", Active: true, IsShared: true, Tags: tags}
}

type hookEnvironment struct {
	Name           string `json:"name"`
	Action         string `json:"action"`
	DeploymentTier string `json:"deployment_tier"`
}

func hookEnvironmentOf(j *job) *hookEnvironment {
	if j.environment == "" {
		return nil
	}
	tier := j.environmentTier
	if tier == "" {
		tier = "other"
	}
	return &hookEnvironment{Name: j.environment, Action: "start", DeploymentTier: tier}
}

type jobHookCommit struct {
	ID            int64     `json:"id"` // the pipeline's id, as GitLab sends it
	Name          *string   `json:"name"`
	SHA           string    `json:"sha"`
	Message       string    `json:"message"`
	AuthorName    string    `json:"author_name"`
	AuthorEmail   string    `json:"author_email"`
	AuthorURL     string    `json:"author_url"`
	Status        string    `json:"status"`
	Duration      *int64    `json:"duration"`
	StartedAt     *hookTime `json:"started_at"`
	FinishedAt    *hookTime `json:"finished_at"`
	StartedAtISO  *isoTime  `json:"started_at_iso"`
	FinishedAtISO *isoTime  `json:"finished_at_iso"`
}

type hookRepository struct {
	Name            string  `json:"name"`
	URL             string  `json:"url"`
	Description     *string `json:"description"`
	Homepage        string  `json:"homepage"`
	GitHTTPURL      string  `json:"git_http_url"`
	GitSSHURL       string  `json:"git_ssh_url"`
	VisibilityLevel int     `json:"visibility_level"`
}

// jobHook is the Job Hook payload (object_kind "build").
type jobHook struct {
	ObjectKind          string           `json:"object_kind"`
	Ref                 string           `json:"ref"`
	Tag                 bool             `json:"tag"`
	BeforeSHA           string           `json:"before_sha"`
	SHA                 string           `json:"sha"`
	RetriesCount        int              `json:"retries_count"`
	BuildID             int64            `json:"build_id"`
	BuildName           string           `json:"build_name"`
	BuildStage          string           `json:"build_stage"`
	BuildStatus         string           `json:"build_status"`
	BuildCreatedAt      hookTime         `json:"build_created_at"`
	BuildStartedAt      *hookTime        `json:"build_started_at"`
	BuildFinishedAt     *hookTime        `json:"build_finished_at"`
	BuildCreatedAtISO   isoTime          `json:"build_created_at_iso"`
	BuildStartedAtISO   *isoTime         `json:"build_started_at_iso"`
	BuildFinishedAtISO  *isoTime         `json:"build_finished_at_iso"`
	BuildDuration       *float64         `json:"build_duration"`
	BuildQueuedDuration *float64         `json:"build_queued_duration"`
	BuildAllowFailure   bool             `json:"build_allow_failure"`
	BuildFailureReason  *string          `json:"build_failure_reason"`
	PipelineID          int64            `json:"pipeline_id"`
	Runner              *hookRunner      `json:"runner"`
	ProjectID           int64            `json:"project_id"`
	ProjectName         string           `json:"project_name"`
	User                *hookUser        `json:"user"`
	Commit              jobHookCommit    `json:"commit"`
	Repository          hookRepository   `json:"repository"`
	Project             hookProject      `json:"project"`
	Environment         *hookEnvironment `json:"environment"`
}

// durations of a job as the API shows them: running time (to now while it
// runs) and queued time (to now while it waits); nil before they begin.
func jobDurations(j *job, now time.Time) (duration, queued *float64) {
	if !j.startedAt.IsZero() {
		d := seconds(orNow(j.finishedAt, now).Sub(j.startedAt))
		duration = &d
	}
	if !j.queuedAt.IsZero() {
		q := seconds(orNow(j.startedAt, now).Sub(j.queuedAt))
		queued = &q
	}
	return duration, queued
}

// retriesCount is Ci::Build#retries_count: the earlier attempts of the
// job's name in its pipeline.
func retriesCount(j *job) int {
	n := 0
	for _, o := range j.pipeline.builds {
		if o != j && o.name == j.name && o.id < j.id {
			n++
		}
	}
	return n
}

func commitMessage(pl *pipeline) string { return "Simulated commit on " + pl.ref + "\n" }

const commitAuthorName, commitAuthorEmail = "Sim Author", "author@example.com"

func buildJobHook(base string, j *job, now time.Time) jobHook {
	pl, p := j.pipeline, j.project
	ssh, http := repoURLs(base, p.path)
	d, q := jobDurations(j, now)
	pd, _ := pl.durations()
	var reason *string
	if j.status == StatusFailed {
		r := j.reason
		reason = &r
	}
	var desc *string
	if p.description != "" {
		v := p.description
		desc = &v
	}
	return jobHook{
		ObjectKind: "build", Ref: pl.ref, Tag: pl.tag, BeforeSHA: zeroSHA, SHA: pl.sha, RetriesCount: retriesCount(j),
		BuildID: j.id, BuildName: j.name, BuildStage: j.stage, BuildStatus: j.status,
		BuildCreatedAt: hookTime(j.createdAt), BuildStartedAt: optHookTime(j.startedAt), BuildFinishedAt: optHookTime(j.finishedAt),
		BuildCreatedAtISO: isoTime(j.createdAt), BuildStartedAtISO: optISOTime(j.startedAt), BuildFinishedAtISO: optISOTime(j.finishedAt),
		BuildDuration: d, BuildQueuedDuration: q, BuildAllowFailure: j.allowFailure, BuildFailureReason: reason,
		PipelineID: pl.id, Runner: hookRunnerOf(j), ProjectID: p.id, ProjectName: p.fullName(), User: hookUserOf(j.user),
		Commit: jobHookCommit{
			ID: pl.id, SHA: pl.sha, Message: commitMessage(pl), AuthorName: commitAuthorName, AuthorEmail: commitAuthorEmail,
			AuthorURL: "mailto:" + commitAuthorEmail, Status: pl.status(), Duration: pd,
			StartedAt: optHookTime(pl.startedAt()), FinishedAt: optHookTime(pl.finishedAt()),
			StartedAtISO: optISOTime(pl.startedAt()), FinishedAtISO: optISOTime(pl.finishedAt()),
		},
		Repository: hookRepository{
			Name: p.name, URL: ssh, Description: desc, Homepage: base + "/" + p.path, GitHTTPURL: http, GitSSHURL: ssh,
		},
		Project:     hookProjectOf(base, p),
		Environment: hookEnvironmentOf(j),
	}
}

type pipelineHookAttributes struct {
	ID             int64      `json:"id"`
	IID            int64      `json:"iid"`
	Name           *string    `json:"name"`
	Ref            string     `json:"ref"`
	Tag            bool       `json:"tag"`
	SHA            string     `json:"sha"`
	BeforeSHA      string     `json:"before_sha"`
	Source         string     `json:"source"`
	Status         string     `json:"status"`
	DetailedStatus string     `json:"detailed_status"`
	Stages         []string   `json:"stages"`
	CreatedAt      hookTime   `json:"created_at"`
	FinishedAt     *hookTime  `json:"finished_at"`
	Duration       *int64     `json:"duration"`
	QueuedDuration *int64     `json:"queued_duration"`
	ProtectedRef   bool       `json:"protected_ref"`
	Variables      []Variable `json:"variables"`
	URL            string     `json:"url"`
}

type hookCommitAuthor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// pipelineHookCommit is Commit#hook_attrs; its timestamp is already a
// string when the payload is built, ISO 8601.
type pipelineHookCommit struct {
	ID        string           `json:"id"`
	Message   string           `json:"message"`
	Title     string           `json:"title"`
	Timestamp string           `json:"timestamp"`
	URL       string           `json:"url"`
	Author    hookCommitAuthor `json:"author"`
}

type hookArtifactsFile struct {
	Filename *string `json:"filename"`
	Size     *int64  `json:"size"`
}

type pipelineHookBuild struct {
	ID             int64             `json:"id"`
	Stage          string            `json:"stage"`
	Name           string            `json:"name"`
	Status         string            `json:"status"`
	CreatedAt      hookTime          `json:"created_at"`
	StartedAt      *hookTime         `json:"started_at"`
	FinishedAt     *hookTime         `json:"finished_at"`
	Duration       *float64          `json:"duration"`
	QueuedDuration *float64          `json:"queued_duration"`
	FailureReason  *string           `json:"failure_reason"`
	When           string            `json:"when"`
	Manual         bool              `json:"manual"`
	AllowFailure   bool              `json:"allow_failure"`
	User           *hookUser         `json:"user"`
	Runner         *hookRunner       `json:"runner"`
	ArtifactsFile  hookArtifactsFile `json:"artifacts_file"`
	Environment    *hookEnvironment  `json:"environment"`
}

type hookSourcePipeline struct {
	Project struct {
		ID                int64  `json:"id"`
		WebURL            string `json:"web_url"`
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	JobID      int64 `json:"job_id"`
	PipelineID int64 `json:"pipeline_id"`
}

// pipelineHook is the Pipeline Hook payload (object_kind "pipeline").
type pipelineHook struct {
	ObjectKind       string                 `json:"object_kind"`
	ObjectAttributes pipelineHookAttributes `json:"object_attributes"`
	MergeRequest     *struct{}              `json:"merge_request"`
	User             *hookUser              `json:"user"`
	Project          hookProject            `json:"project"`
	Commit           pipelineHookCommit     `json:"commit"`
	SourcePipeline   *hookSourcePipeline    `json:"source_pipeline,omitempty"`
	Builds           []pipelineHookBuild    `json:"builds"`
}

func buildPipelineHook(base string, pl *pipeline, now time.Time) pipelineHook {
	p := pl.project
	d, q := pl.durations()
	out := pipelineHook{
		ObjectKind: "pipeline",
		ObjectAttributes: pipelineHookAttributes{
			ID: pl.id, IID: pl.iid, Ref: pl.ref, Tag: pl.tag, SHA: pl.sha, BeforeSHA: zeroSHA, Source: pl.source,
			Status: pl.status(), DetailedStatus: pl.detailedStatus().Label, Stages: pl.stageNames(),
			CreatedAt: hookTime(pl.createdAt), FinishedAt: optHookTime(pl.finishedAt()), Duration: d, QueuedDuration: q,
			Variables: []Variable{}, URL: base + "/" + p.path + "/-/pipelines/" + itoa(pl.id),
		},
		User:    hookUserOf(pl.user),
		Project: hookProjectOf(base, p),
		Commit: pipelineHookCommit{
			ID: pl.sha, Message: commitMessage(pl), Title: strings.TrimSuffix(commitMessage(pl), "\n"),
			Timestamp: pl.createdAt.Add(-time.Minute).UTC().Format(time.RFC3339),
			URL:       base + "/" + p.path + "/-/commit/" + pl.sha,
			Author:    hookCommitAuthor{Name: commitAuthorName, Email: commitAuthorEmail},
		},
		Builds: []pipelineHookBuild{},
	}
	if src := pl.sourceJob; src != nil {
		sp := &hookSourcePipeline{JobID: src.id, PipelineID: src.pipeline.id}
		sp.Project.ID, sp.Project.PathWithNamespace = src.project.id, src.project.path
		sp.Project.WebURL = base + "/" + src.project.path
		out.SourcePipeline = sp
	}
	for _, j := range pl.builds { // latest builds; bridges are not listed
		if j.retried {
			continue
		}
		jd, jq := jobDurations(j, now)
		b := pipelineHookBuild{
			ID: j.id, Stage: j.stage, Name: j.name, Status: j.status, CreatedAt: hookTime(j.createdAt),
			StartedAt: optHookTime(j.startedAt), FinishedAt: optHookTime(j.finishedAt), Duration: jd, QueuedDuration: jq,
			When: j.when, Manual: j.isAction(), AllowFailure: j.allowFailure, User: hookUserOf(j.user),
			Runner: hookRunnerOf(j), Environment: hookEnvironmentOf(j),
		}
		if j.status == StatusFailed {
			r := j.reason
			b.FailureReason = &r
		}
		if j.hasArtifacts {
			name, size := "artifacts.zip", int64(artifactsSize)
			b.ArtifactsFile = hookArtifactsFile{Filename: &name, Size: &size}
		}
		out.Builds = append(out.Builds, b)
	}
	return out
}
