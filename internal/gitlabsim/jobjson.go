package gitlabsim

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes of GitLab's API entities (Entities::Ci::Job, ::Bridge,
// ::UserBasic, ::PipelineBasic). Field presence matters to clients: a
// pointer without omitempty renders null ("not yet"), omitempty renders
// nothing ("does not apply"), so each field below says which it is.

// jsTime renders GitLab's timestamps: UTC, ISO-8601, milliseconds.
type jsTime time.Time

const timeLayout = "2006-01-02T15:04:05.000Z"

func (t jsTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

func ptime(t time.Time) *jsTime {
	if t.IsZero() {
		return nil
	}
	v := jsTime(t)
	return &v
}

// seconds renders a duration as GitLab does: seconds, as a float with
// millisecond precision.
func seconds(d time.Duration) *float64 {
	if d < 0 {
		d = 0
	}
	v := math.Round(d.Seconds()*1000) / 1000
	return &v
}

type apiCommit struct {
	ID          string `json:"id"`
	ShortID     string `json:"short_id"`
	CreatedAt   jsTime `json:"created_at"`
	Title       string `json:"title"`
	Message     string `json:"message"`
	AuthorName  string `json:"author_name"`
	AuthorEmail string `json:"author_email"`
}

type apiPipeline struct {
	ID        int64  `json:"id"`
	IID       int64  `json:"iid"`
	ProjectID int64  `json:"project_id"`
	SHA       string `json:"sha"`
	Ref       string `json:"ref"`
	Status    string `json:"status"`
	Source    string `json:"source"`
	CreatedAt jsTime `json:"created_at"`
	UpdatedAt jsTime `json:"updated_at"`
	WebURL    string `json:"web_url"`
}

type apiUser struct {
	ID           int64   `json:"id"`
	Username     string  `json:"username"`
	Name         string  `json:"name"`
	State        string  `json:"state"`
	Locked       bool    `json:"locked"`
	AvatarURL    string  `json:"avatar_url"`
	WebURL       string  `json:"web_url"`
	CreatedAt    jsTime  `json:"created_at"`
	Bio          *string `json:"bio"`
	Location     *string `json:"location"`
	PublicEmail  string  `json:"public_email"`
	Skype        string  `json:"skype"`
	Linkedin     string  `json:"linkedin"`
	Twitter      string  `json:"twitter"`
	Discord      string  `json:"discord"`
	WebsiteURL   string  `json:"website_url"`
	Organization string  `json:"organization"`
	JobTitle     string  `json:"job_title"`
	Bot          bool    `json:"bot"`
}

type apiJobProject struct {
	CIJobTokenScopeEnabled bool `json:"ci_job_token_scope_enabled"`
}

// apiJobBase holds the fields builds and bridges share (Entities::Ci::JobBasic).
type apiJobBase struct {
	ID             int64       `json:"id"`
	Status         string      `json:"status"`
	Stage          string      `json:"stage"`
	Name           string      `json:"name"`
	Ref            string      `json:"ref"`
	Tag            bool        `json:"tag"`
	Coverage       *float64    `json:"coverage"`
	AllowFailure   bool        `json:"allow_failure"`
	CreatedAt      jsTime      `json:"created_at"`
	StartedAt      *jsTime     `json:"started_at"`
	FinishedAt     *jsTime     `json:"finished_at"`
	ErasedAt       *jsTime     `json:"erased_at"`
	Duration       *float64    `json:"duration"`
	QueuedDuration *float64    `json:"queued_duration"`
	User           *apiUser    `json:"user"`
	Commit         apiCommit   `json:"commit"`
	Pipeline       apiPipeline `json:"pipeline"`
	// FailureReason is absent unless the job failed.
	FailureReason string        `json:"failure_reason,omitempty"`
	WebURL        string        `json:"web_url"`
	Project       apiJobProject `json:"project"`
}

type apiArtifact struct {
	FileType   string `json:"file_type"`
	Size       int64  `json:"size"`
	Filename   string `json:"filename"`
	FileFormat string `json:"file_format"`
}

type apiArtifactsFile struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
}

type apiRunner struct {
	ID          int64  `json:"id"`
	Description string `json:"description"`
	IPAddress   string `json:"ip_address"`
	Active      bool   `json:"active"`
	Paused      bool   `json:"paused"`
	IsShared    bool   `json:"is_shared"`
	RunnerType  string `json:"runner_type"`
	Name        string `json:"name"`
	Online      bool   `json:"online"`
	Status      string `json:"status"`
}

// apiBuild is Entities::Ci::Job.
type apiBuild struct {
	apiJobBase
	// ArtifactsFile is absent unless an archive exists.
	ArtifactsFile     *apiArtifactsFile `json:"artifacts_file,omitempty"`
	Artifacts         []apiArtifact     `json:"artifacts"`
	ArtifactsExpireAt *jsTime           `json:"artifacts_expire_at"`
	TagList           []string          `json:"tag_list"`
	Runner            *apiRunner        `json:"runner"`
	RunnerManager     *struct{}         `json:"runner_manager"`
	Archived          bool              `json:"archived"`
}

// apiBridge is Entities::Ci::Bridge: no artifacts, runner or tag_list.
type apiBridge struct {
	apiJobBase
	DownstreamPipeline *apiPipeline `json:"downstream_pipeline"`
}

// simRunner is the one runner that "runs" every started build.
var simRunner = apiRunner{
	ID: 1, Description: "gitlab-sim runner", IPAddress: "127.0.0.1", Active: true,
	IsShared: true, RunnerType: "instance_type", Name: "gitlab-runner", Online: true, Status: "online",
}

type renderer struct {
	base string // e.g. http://127.0.0.1:8929, no trailing slash
	now  time.Time
}

func (r renderer) user(u *user) *apiUser {
	if u == nil {
		return nil
	}
	return &apiUser{
		ID: u.id, Username: u.username, Name: u.name, State: "active",
		AvatarURL: "https://www.gravatar.com/avatar/" + fakeSHA(u.username)[:32] + "?s=80&d=identicon",
		WebURL:    r.base + "/" + u.username, CreatedAt: jsTime(u.createdAt),
	}
}

func (r renderer) pipeline(pl *pipeline) apiPipeline {
	return apiPipeline{
		ID: pl.id, IID: pl.iid, ProjectID: pl.project.id, SHA: pl.sha, Ref: pl.ref,
		Status: pl.status(), Source: pl.source, CreatedAt: jsTime(pl.createdAt),
		UpdatedAt: jsTime(pl.updatedAt), WebURL: r.base + "/" + pl.project.path + "/-/pipelines/" + itoa(pl.id),
	}
}

func (r renderer) commit(pl *pipeline) apiCommit {
	title := "Simulated commit on " + pl.ref
	return apiCommit{
		ID: pl.sha, ShortID: pl.sha[:8], CreatedAt: jsTime(pl.createdAt.Add(-time.Minute)),
		Title: title, Message: title + "\n", AuthorName: "Sim Author", AuthorEmail: "author@example.com",
	}
}

func (r renderer) common(j *job) apiJobBase {
	b := apiJobBase{
		ID: j.id, Status: j.status, Stage: j.stage, Name: j.name, Ref: j.pipeline.ref,
		Tag: j.pipeline.tag, Coverage: j.coverage, AllowFailure: j.allowFailure,
		CreatedAt: jsTime(j.createdAt), StartedAt: ptime(j.startedAt), FinishedAt: ptime(j.finishedAt),
		ErasedAt: ptime(j.erasedAt), User: r.user(j.user), Commit: r.commit(j.pipeline),
		Pipeline: r.pipeline(j.pipeline), WebURL: r.base + "/" + j.project.path + "/-/jobs/" + itoa(j.id),
	}
	if j.status == StatusFailed {
		b.FailureReason = j.reason
	}
	// duration runs from start to finish, or to now while the job runs.
	if !j.startedAt.IsZero() {
		end := j.finishedAt
		if end.IsZero() {
			end = r.now
		}
		b.Duration = seconds(end.Sub(j.startedAt))
	}
	// queued_duration runs from queueing to start, or to now while queued.
	if !j.queuedAt.IsZero() {
		end := j.startedAt
		if end.IsZero() {
			end = r.now
		}
		b.QueuedDuration = seconds(end.Sub(j.queuedAt))
	}
	return b
}

// job renders a build or a bridge.
func (r renderer) job(j *job) any {
	if !j.isBuild() {
		out := apiBridge{apiJobBase: r.common(j)}
		if j.downstream != nil {
			d := r.pipeline(j.downstream)
			out.DownstreamPipeline = &d
		}
		return out
	}
	out := apiBuild{
		apiJobBase: r.common(j), Artifacts: []apiArtifact{}, TagList: j.tagList,
		ArtifactsExpireAt: ptime(j.artifactsExpireAt),
	}
	if out.TagList == nil {
		out.TagList = []string{}
	}
	if j.hasArtifacts {
		out.ArtifactsFile = &apiArtifactsFile{Filename: "artifacts.zip", Size: 1000}
		out.Artifacts = append(out.Artifacts,
			apiArtifact{FileType: "archive", Size: 1000, Filename: "artifacts.zip", FileFormat: "zip"},
			apiArtifact{FileType: "metadata", Size: 186, Filename: "metadata.gz", FileFormat: "gzip"})
	}
	if len(j.trace) > 0 && isFinished(j.status) {
		out.Artifacts = append(out.Artifacts,
			apiArtifact{FileType: "trace", Size: int64(len(j.trace)), Filename: "job.log", FileFormat: "raw"})
	}
	if !j.startedAt.IsZero() {
		rn := simRunner
		out.Runner = &rn
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
