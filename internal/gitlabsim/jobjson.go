package gitlabsim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The JSON of GitLab's API entities (Entities::Ci::Job, ::Bridge,
// ::UserBasic, ::PipelineBasic, ::Commit).
//
// The job object is written by hand (appendJob) rather than through
// encoding/json: a list page is mostly job objects, reflection-based
// encoding was most of a request's cost, and writing it out also makes
// presence explicit, field by field: null ("not yet"), absent ("does not
// apply") or set. The nested entities (user, pipeline, commit) keep their
// structs; they are marshalled once per response and spliced in.

// jsTime renders GitLab's timestamps: UTC, ISO-8601, milliseconds.
type jsTime time.Time

const timeLayout = "2006-01-02T15:04:05.000Z"

func (t jsTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	return appendTime(b, time.Time(t)), nil
}

// appendTime writes a quoted timestamp. It formats the digits itself:
// time.AppendFormat was the largest cost of rendering a page of jobs.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, timeLayout)
		return append(b, '"')
	}
	h, mi, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b, '"',
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z', '"')
}

// seconds renders a duration as GitLab does: seconds, as a float with
// millisecond precision.
func seconds(d time.Duration) float64 {
	if d < 0 {
		d = 0
	}
	return math.Round(d.Seconds()*1000) / 1000
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

// simRunnerJSON is the one runner that "runs" every started build.
var simRunnerJSON = mustMarshal(apiRunner{
	ID: 1, Description: "gitlab-sim runner", IPAddress: "127.0.0.1", Active: true,
	IsShared: true, RunnerType: "instance_type", Name: "gitlab-runner", Online: true, Status: "online",
})

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for package-level constants of our own types
	}
	return b
}

// marshal encodes our own entity types, which cannot fail; a failure would
// be a bug, rendered as null rather than a broken document.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// renderer renders the entities of one response, at one instant (durations
// of running jobs count to now). Jobs of a page mostly share users and
// pipelines, so those are encoded once per response.
type renderer struct {
	base      string // e.g. http://127.0.0.1:8929, no trailing slash
	now       time.Time
	users     map[*user][]byte
	pipelines map[*pipeline]*renderedPipeline
}

type renderedPipeline struct {
	pipeline []byte
	commit   []byte
}

func newRenderer(base string, now time.Time) *renderer {
	return &renderer{base: base, now: now}
}

func (r *renderer) apiUser(u *user) *apiUser {
	return &apiUser{
		ID: u.id, Username: u.username, Name: u.name, State: "active", AvatarURL: u.avatarURL,
		WebURL: r.base + "/" + u.username, CreatedAt: jsTime(u.createdAt),
	}
}

func (r *renderer) userJSON(u *user) []byte {
	if u == nil {
		return []byte("null")
	}
	if b := r.users[u]; b != nil {
		return b
	}
	b := marshal(r.apiUser(u))
	if r.users == nil {
		r.users = map[*user][]byte{}
	}
	r.users[u] = b
	return b
}

func (r *renderer) pipelineJSON(pl *pipeline) *renderedPipeline {
	if rp := r.pipelines[pl]; rp != nil {
		return rp
	}
	title := "Simulated commit on " + pl.ref
	rp := &renderedPipeline{
		pipeline: marshal(r.apiPipeline(pl)),
		commit: marshal(apiCommit{
			ID: pl.sha, ShortID: pl.sha[:8], CreatedAt: jsTime(pl.createdAt.Add(-time.Minute)),
			Title: title, Message: title + "\n", AuthorName: "Sim Author", AuthorEmail: "author@example.com",
		}),
	}
	if r.pipelines == nil {
		r.pipelines = map[*pipeline]*renderedPipeline{}
	}
	r.pipelines[pl] = rp
	return rp
}

// apiPipeline is Entities::Ci::PipelineBasic.
func (r *renderer) apiPipeline(pl *pipeline) apiPipeline {
	return apiPipeline{
		ID: pl.id, IID: pl.iid, ProjectID: pl.project.id, SHA: pl.sha, Ref: pl.ref,
		Status: pl.status(), Source: pl.source, CreatedAt: jsTime(pl.createdAt),
		UpdatedAt: jsTime(pl.updatedAt), WebURL: r.base + "/" + pl.project.path + "/-/pipelines/" + itoa(pl.id),
	}
}

// job renders one job as a standalone document.
func (r *renderer) job(j *job) json.RawMessage {
	return r.appendJob(make([]byte, 0, 2048), j)
}

// appendJobs renders a list of jobs as a JSON array.
func (r *renderer) appendJobs(b []byte, jobs []*job) []byte {
	b = append(b, '[')
	for i, j := range jobs {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendJob(b, j)
	}
	return append(b, ']')
}

// appendJob writes Entities::Ci::Job for a build, Entities::Ci::Bridge for
// a bridge.
func (r *renderer) appendJob(b []byte, j *job) []byte {
	rp := r.pipelineJSON(j.pipeline)
	o := obj{b: append(b, '{')}
	o.raw("commit", rp.commit)
	if j.coverage != nil && !math.IsNaN(*j.coverage) && !math.IsInf(*j.coverage, 0) {
		o.float("coverage", *j.coverage)
	} else {
		o.raw("coverage", null)
	}
	if j.isBuild() {
		o.bool("archived", false)
	}
	o.bool("allow_failure", j.allowFailure)
	o.time("created_at", j.createdAt)
	o.time("started_at", j.startedAt)
	o.time("finished_at", j.finishedAt)
	o.time("erased_at", j.erasedAt)
	// duration runs from start to finish, or to now while the job runs;
	// queued_duration from queueing to start, or to now while queued.
	if j.startedAt.IsZero() {
		o.raw("duration", null)
	} else {
		o.float("duration", seconds(orNow(j.finishedAt, r.now).Sub(j.startedAt)))
	}
	if j.queuedAt.IsZero() {
		o.raw("queued_duration", null)
	} else {
		o.float("queued_duration", seconds(orNow(j.startedAt, r.now).Sub(j.queuedAt)))
	}
	if j.isBuild() {
		r.appendArtifacts(&o, j)
		o.key("tag_list")
		o.b = append(o.b, '[')
		for i, t := range j.tagList {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, t)
		}
		o.b = append(o.b, ']')
	}
	o.int("id", j.id)
	o.str("name", j.name)
	o.raw("pipeline", rp.pipeline)
	o.str("ref", j.pipeline.ref)
	if j.isBuild() {
		if j.startedAt.IsZero() {
			o.raw("runner", null)
		} else {
			o.raw("runner", simRunnerJSON)
		}
		o.raw("runner_manager", null)
	}
	o.str("stage", j.stage)
	o.str("status", j.status)
	if j.status == StatusFailed { // the key exists only on failed jobs
		o.str("failure_reason", j.reason)
	}
	o.bool("tag", j.pipeline.tag)
	o.key("web_url")
	o.b = append(o.b, '"')
	o.b = appendStringContent(o.b, r.base)
	o.b = append(o.b, '/')
	o.b = appendStringContent(o.b, j.project.path)
	o.b = append(o.b, "/-/jobs/"...)
	o.b = strconv.AppendInt(o.b, j.id, 10)
	o.b = append(o.b, '"')
	o.raw("project", []byte(`{"ci_job_token_scope_enabled":false}`))
	o.raw("user", r.userJSON(j.user))
	if !j.isBuild() {
		if j.downstream == nil {
			o.raw("downstream_pipeline", null)
		} else {
			o.raw("downstream_pipeline", r.pipelineJSON(j.downstream).pipeline)
		}
	}
	return append(o.b, '}')
}

var artifactsFileJSON = []byte(`{"filename":"artifacts.zip","size":` + strconv.Itoa(artifactsSize) + `}`)

// appendArtifacts writes artifacts_file (only while an archive exists),
// artifacts and artifacts_expire_at.
func (r *renderer) appendArtifacts(o *obj, j *job) {
	if j.hasArtifacts {
		o.raw("artifacts_file", artifactsFileJSON)
	}
	o.key("artifacts")
	o.b = append(o.b, '[')
	n := 0
	sep := func() {
		if n > 0 {
			o.b = append(o.b, ',')
		}
		n++
	}
	if j.hasArtifacts {
		sep()
		o.b = append(o.b, `{"file_type":"archive","size":`...)
		o.b = strconv.AppendInt(o.b, artifactsSize, 10)
		o.b = append(o.b, `,"filename":"artifacts.zip","file_format":"zip"}`...)
		sep()
		o.b = append(o.b, `{"file_type":"metadata","size":186,"filename":"metadata.gz","file_format":"gzip"}`...)
	}
	if len(j.trace) > 0 && isFinished(j.status) {
		sep()
		o.b = append(o.b, `{"file_type":"trace","size":`...)
		o.b = strconv.AppendInt(o.b, int64(len(j.trace)), 10)
		o.b = append(o.b, `,"filename":"job.log","file_format":"raw"}`...)
	}
	o.b = append(o.b, ']')
	o.time("artifacts_expire_at", j.artifactsExpireAt)
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

var null = []byte("null")

// obj appends the members of a JSON object.
type obj struct {
	b    []byte
	more bool
}

func (o *obj) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *obj) raw(k string, v []byte) { o.key(k); o.b = append(o.b, v...) }
func (o *obj) str(k, v string)        { o.key(k); o.b = appendString(o.b, v) }
func (o *obj) int(k string, v int64)  { o.key(k); o.b = strconv.AppendInt(o.b, v, 10) }
func (o *obj) bool(k string, v bool)  { o.key(k); o.b = strconv.AppendBool(o.b, v) }

func (o *obj) float(k string, v float64) {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, v, 'f', -1, 64)
}

// time writes a timestamp, or null when it has not happened.
func (o *obj) time(k string, t time.Time) {
	o.key(k)
	if t.IsZero() {
		o.b = append(o.b, null...)
		return
	}
	o.b = appendTime(o.b, t)
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string as encoding/json does (without HTML
// escaping): control characters escaped, invalid UTF-8 replaced by U+FFFD,
// U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringContent(b, s)
	return append(b, '"')
}

// appendStringContent writes s escaped, without the quotes.
func appendStringContent(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
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
