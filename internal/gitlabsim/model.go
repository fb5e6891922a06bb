package gitlabsim

import (
	"strings"
	"time"
)

// Internal records. They are only read or written under store.mu; pointers
// to them never leave the package (the Go API returns the snapshot types of
// snapshot.go).

// Access levels, with GitLab's numbers.
const (
	roleNone       = 0
	roleGuest      = 10
	rolePlanner    = 15
	roleReporter   = 20
	roleDeveloper  = 30
	roleMaintainer = 40
	roleOwner      = 50
)

var roleByName = map[string]int{
	"guest": roleGuest, "planner": rolePlanner, "reporter": roleReporter, "developer": roleDeveloper,
	"maintainer": roleMaintainer, "owner": roleOwner,
}

// roleOrder lists the roles from the lowest up, as GitLab's
// Gitlab::Access.sym_options_with_owner does.
var roleOrder = []struct {
	level int
	name  string
}{
	{roleGuest, "guest"}, {rolePlanner, "planner"}, {roleReporter, "reporter"},
	{roleDeveloper, "developer"}, {roleMaintainer, "maintainer"}, {roleOwner, "owner"},
}

// rolesUpTo names every role at or below level, lowest first: what
// /job/allowed_agents reports as roles_in_project (a maintainer is also a
// guest, planner, reporter and developer there).
func rolesUpTo(level int) []string {
	out := []string{}
	for _, r := range roleOrder {
		if r.level <= level {
			out = append(out, r.name)
		}
	}
	return out
}

type user struct {
	id        int64
	username  string
	name      string
	email     string
	token     string
	admin     bool
	createdAt time.Time
	avatarURL string
}

type project struct {
	id            int64
	path          string // path_with_namespace
	name          string
	description   string
	defaultBranch string
	groupIDs      []int64
	members       map[string]int // username -> role; nil: everyone is a maintainer
	createdAt     time.Time
	idx           jobIndex    // the project's builds, for GET /projects/:id/jobs
	pipelineSeq   int64       // per-project pipeline iid
	pipelines     []*pipeline // in id order, for GET /projects/:id/pipelines
	hooks         []*hook     // webhooks, in id order
}

func (p *project) namespace() string {
	if i := strings.LastIndex(p.path, "/"); i >= 0 {
		return p.path[:i]
	}
	return ""
}

func (p *project) shortPath() string {
	return p.path[strings.LastIndex(p.path, "/")+1:]
}

// fullName is GitLab's full_name: the namespace's names and the project's,
// joined by " / " ("platform / app"). Groups are named after their paths.
func (p *project) fullName() string {
	if ns := p.namespace(); ns != "" {
		return strings.ReplaceAll(ns, "/", " / ") + " / " + p.name
	}
	return p.name
}

func (p *project) roleOf(u *user) int {
	if u == nil {
		return roleNone
	}
	if p.members == nil {
		return roleMaintainer
	}
	return p.members[u.username]
}

type pipeline struct {
	id        int64
	iid       int64
	project   *project
	ref       string
	sha       string
	tag       bool
	source    string
	user      *user
	createdAt time.Time
	updatedAt time.Time
	builds    []*job // in id order, retried attempts included
	bridges   []*job
	stages    []string // stage names in order; a job's stageIdx indexes it
	// counts holds the composite buckets of the latest (non-retried) jobs,
	// so the pipeline status is O(1) to render whatever the pipeline's size.
	counts statusCounts
	// fixedStatus is set on downstream pipelines, which have no jobs here.
	fixedStatus string
	// sourceJob is the bridge that made this (downstream) pipeline.
	sourceJob *job
	// creating is true while the pipeline's jobs are being added, so its
	// intermediate statuses are not announced to hooks.
	creating bool
	// announced is the status the last Pipeline Hook carried.
	announced string
	// outcomes are shared by all attempts of a job name (see JobSpec.Outcomes).
	outcomes map[string]*outcomeScript
}

func (pl *pipeline) status() string {
	if pl.fixedStatus != "" {
		return pl.fixedStatus
	}
	return pl.counts.composite()
}

type outcomeScript struct {
	list []Outcome
	next int
}

// take returns the outcome of the next attempt; the last one repeats.
func (o *outcomeScript) take() (Outcome, bool) {
	if o == nil || len(o.list) == 0 {
		return Outcome{}, false
	}
	i := o.next
	if i >= len(o.list) {
		i = len(o.list) - 1
	}
	o.next++
	return o.list[i], true
}

type jobKind int

const (
	kindBuild jobKind = iota
	kindBridge
)

type job struct {
	id           int64
	kind         jobKind
	project      *project
	pipeline     *pipeline
	name         string
	stage        string
	stageIdx     int // position of stage in the pipeline's stages
	status       string
	reason       string // failure_reason, kept only while failed
	when         string
	tagList      []string // never mutated after creation
	allowFailure bool
	coverage     *float64
	user         *user

	createdAt  time.Time
	queuedAt   time.Time // zero: never queued
	startedAt  time.Time
	finishedAt time.Time
	erasedAt   time.Time

	// trace is append-only: readers slice it under the lock and stream the
	// slice after unlocking, which is safe because appends never touch bytes
	// below the old length and erase replaces the slice.
	trace []byte

	producesArtifacts bool
	hasArtifacts      bool
	artifactsExpireAt time.Time

	retried bool
	retryOf int64 // id of the attempt this one retried; 0 for the first
	// needs names the jobs this one waits for instead of the earlier
	// stages; nil: it waits for the earlier stages (never mutated).
	needs     []string
	variables []Variable
	token     string // CI_JOB_TOKEN, made when the job first runs

	// Lifecycle knobs, copied to every retry.
	stuck        bool
	flakiness    float64
	flakyOutcome Outcome
	logLines     int       // lines the engine has written in this run
	lastLogAt    time.Time // when the engine last wrote one

	environment     string
	environmentTier string

	// Bridges only.
	downstream          *pipeline
	downstreamProjectID int64

	// cancelGen invalidates a pending canceling->canceled timer when the job
	// changes status meanwhile.
	cancelGen int
}

func (j *job) isBuild() bool { return j.kind == kindBuild }

func (j *job) retryable() bool { return !j.retried && isRetryableStatus(j.status) }

// isAction is GitLab's action?: the job was declared when: manual (or
// delayed). It depends on when alone, never on the current status, so a
// manual job that has run is still an action.
func (j *job) isAction() bool { return j.when == "manual" || j.when == "delayed" }

// playable follows GitLab's playable? (app/models/ci/build.rb and
// bridge.rb): an action job that is manual or scheduled, or, for a build,
// finished and retryable (playing it then makes a new attempt). A bridge is
// playable only while manual.
func (j *job) playable() bool {
	if !j.isAction() {
		return false
	}
	if !j.isBuild() {
		return j.status == StatusManual
	}
	return j.status == StatusManual || j.status == StatusScheduled || j.retryable()
}

func (j *job) erasable() bool {
	return j.isBuild() && isFinished(j.status) && j.erasedAt.IsZero() && (len(j.trace) > 0 || j.hasArtifacts)
}

type agent struct {
	id            int64
	name          string
	configProject *project
	authorized    map[int64]bool
	configuration map[string]any
	createdAt     time.Time
}
