package gitlabsim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of the Go API; the admin API maps them to 400, 404 and 409.
var (
	ErrInvalid  = errors.New("invalid")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// store is the world: every record and index. One RWMutex guards it all:
// reads (lists, gets) share it, mutations take it alone. The methods here
// assume the caller holds mu as needed.
type store struct {
	mu sync.RWMutex

	users       map[int64]*user
	userByToken map[string]*user
	userByName  map[string]*user
	projects    map[int64]*project
	projectPath map[string]*project // lower-cased path_with_namespace
	groups      map[string]int64    // namespace path -> group id
	pipelines   map[int64]*pipeline
	jobs        map[int64]*job
	jobByToken  map[string]*job
	agents      map[int64]*agent
	// active holds the pending and running jobs, all the lifecycle engine
	// has to look at.
	active map[int64]*job

	nextUser, nextProject, nextGroup, nextPipeline, nextJob, nextAgent int64
}

func newStore() *store {
	st := &store{}
	st.reset()
	return st
}

func (st *store) reset() {
	st.users = map[int64]*user{}
	st.userByToken = map[string]*user{}
	st.userByName = map[string]*user{}
	st.projects = map[int64]*project{}
	st.projectPath = map[string]*project{}
	st.groups = map[string]int64{}
	st.pipelines = map[int64]*pipeline{}
	st.jobs = map[int64]*job{}
	st.jobByToken = map[string]*job{}
	st.agents = map[int64]*agent{}
	st.active = map[int64]*job{}
	st.nextUser, st.nextProject, st.nextGroup, st.nextPipeline, st.nextJob, st.nextAgent = 1, 1, 1, 1, 1, 1
}

func randomToken(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b)
}

// fakeSHA is deterministic, so a world built twice looks the same.
func fakeSHA(parts ...any) string {
	h := sha1.Sum([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(h[:])
}

func (st *store) addUser(spec UserSpec, now time.Time) (*user, error) {
	if spec.Username == "" || strings.ContainsAny(spec.Username, "/ ") {
		return nil, invalidf("username %q: want a non-empty name without spaces or slashes", spec.Username)
	}
	if st.userByName[spec.Username] != nil {
		return nil, fmt.Errorf("%w: username %q is taken", ErrConflict, spec.Username)
	}
	if spec.Token == "" {
		spec.Token = randomToken("glpat-")
	}
	if st.userByToken[spec.Token] != nil || st.jobByToken[spec.Token] != nil {
		return nil, fmt.Errorf("%w: token already in use", ErrConflict)
	}
	u := &user{
		id: st.nextUser, username: spec.Username, name: spec.Name, email: spec.Email,
		token: spec.Token, admin: spec.Admin, createdAt: now,
	}
	if u.name == "" {
		u.name = spec.Username
	}
	if u.email == "" {
		u.email = spec.Username + "@example.com"
	}
	u.avatarURL = "https://www.gravatar.com/avatar/" + fakeSHA(u.username)[:32] + "?s=80&d=identicon"
	st.nextUser++
	st.users[u.id] = u
	st.userByName[u.username] = u
	st.userByToken[u.token] = u
	return u, nil
}

func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return false
	}
	for _, r := range p {
		ok := r == '/' || r == '-' || r == '_' || r == '.' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func (st *store) addProject(spec ProjectSpec, now time.Time) (*project, error) {
	if !validPath(spec.PathWithNamespace) {
		return nil, invalidf("path_with_namespace %q: want segments of letters, digits, '-', '_' or '.' joined by '/'", spec.PathWithNamespace)
	}
	if spec.ID < 0 {
		return nil, invalidf("id %d: want a positive id or none", spec.ID)
	}
	key := strings.ToLower(spec.PathWithNamespace)
	if st.projectPath[key] != nil {
		return nil, fmt.Errorf("%w: project %q exists", ErrConflict, spec.PathWithNamespace)
	}
	id := spec.ID
	if id == 0 {
		id = st.nextProject
		for st.projects[id] != nil {
			id++
		}
	} else if st.projects[id] != nil {
		return nil, fmt.Errorf("%w: project id %d is taken", ErrConflict, id)
	}
	var members map[string]int
	if len(spec.Members) > 0 {
		members = make(map[string]int, len(spec.Members))
		for _, m := range spec.Members {
			r, ok := roleByName[m.Role]
			if !ok || m.Username == "" {
				return nil, invalidf("member %q role %q: want a username and one of guest, reporter, developer, maintainer, owner", m.Username, m.Role)
			}
			members[m.Username] = r
		}
	}
	p := &project{
		id: id, path: spec.PathWithNamespace, name: spec.Name, description: spec.Description,
		defaultBranch: spec.DefaultBranch, members: members, createdAt: now,
	}
	if p.name == "" {
		p.name = p.shortPath()
	}
	if p.defaultBranch == "" {
		p.defaultBranch = "main"
	}
	// Every namespace prefix is a group, as in GitLab ("a/b/app" lives in
	// group "a" and subgroup "a/b"); /job/allowed_agents lists them.
	segs := strings.Split(p.path, "/")
	for i := 1; i < len(segs); i++ {
		ns := strings.ToLower(strings.Join(segs[:i], "/"))
		gid, ok := st.groups[ns]
		if !ok {
			gid = st.nextGroup
			st.nextGroup++
			st.groups[ns] = gid
		}
		p.groupIDs = append(p.groupIDs, gid)
	}
	if id >= st.nextProject {
		st.nextProject = id + 1
	}
	st.projects[id] = p
	st.projectPath[key] = p
	return p, nil
}

// findProject resolves the :id of a route: a numeric id, or a full path
// (already URL-decoded by the router).
func (st *store) findProject(ref string) *project {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return st.projects[id]
	}
	return st.projectPath[strings.ToLower(ref)]
}

func validWhen(w string) bool {
	switch w {
	case "on_success", "manual", "always", "on_failure", "delayed":
		return true
	}
	return false
}

func (st *store) addPipeline(spec PipelineSpec, now time.Time, seed int64) (*pipeline, error) {
	var p *project
	switch {
	case spec.ProjectID != 0:
		p = st.projects[spec.ProjectID]
	case spec.ProjectPath != "":
		p = st.projectPath[strings.ToLower(spec.ProjectPath)]
	default:
		return nil, invalidf("project_id or project_path is required")
	}
	if p == nil {
		return nil, fmt.Errorf("%w: project %d%s", ErrNotFound, spec.ProjectID, spec.ProjectPath)
	}
	var u *user
	if spec.Username != "" {
		if u = st.userByName[spec.Username]; u == nil {
			return nil, fmt.Errorf("%w: user %q", ErrNotFound, spec.Username)
		}
	}
	if spec.SHA != "" && !isHex40(spec.SHA) {
		return nil, invalidf("sha %q: want 40 hex digits", spec.SHA)
	}
	// Validate every job before creating anything, so a bad spec leaves no
	// half-made pipeline behind.
	for i := range spec.Jobs {
		if err := normalizeJobSpec(&spec.Jobs[i]); err != nil {
			return nil, err
		}
	}
	for i := range spec.Bridges {
		b := &spec.Bridges[i]
		if err := normalizeBridgeSpec(b); err != nil {
			return nil, err
		}
		if b.DownstreamProjectID != 0 && st.projects[b.DownstreamProjectID] == nil {
			return nil, fmt.Errorf("%w: downstream project %d", ErrNotFound, b.DownstreamProjectID)
		}
	}
	created := now
	if spec.CreatedAt != nil {
		created = spec.CreatedAt.UTC()
	}
	pl := st.newPipeline(p, spec.Ref, spec.SHA, u, created, seed)
	pl.tag = spec.Tag
	if spec.Source != "" {
		pl.source = spec.Source
	}
	// Jobs of an old pipeline are as old as it, unless they say otherwise.
	for _, js := range spec.Jobs {
		if js.CreatedAt == nil {
			js.CreatedAt = spec.CreatedAt
		}
		st.addBuild(pl, js, now)
	}
	for _, bs := range spec.Bridges {
		if bs.CreatedAt == nil {
			bs.CreatedAt = spec.CreatedAt
		}
		st.addBridge(pl, bs, now, seed)
	}
	return pl, nil
}

func isHex40(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func (st *store) newPipeline(p *project, ref, sha string, u *user, created time.Time, seed int64) *pipeline {
	if ref == "" {
		ref = p.defaultBranch
	}
	id := st.nextPipeline
	st.nextPipeline++
	p.pipelineSeq++
	if sha == "" {
		sha = fakeSHA(seed, p.id, id)
	}
	pl := &pipeline{
		id: id, iid: p.pipelineSeq, project: p, ref: ref, sha: strings.ToLower(sha), source: "push",
		user: u, createdAt: created, updatedAt: created, counts: statusCounts{},
		outcomes: map[string]*outcomeScript{},
	}
	st.pipelines[id] = pl
	return pl
}

func normalizeJobSpec(js *JobSpec) error {
	if js.Name == "" {
		return invalidf("job name is required")
	}
	if js.Stage == "" {
		js.Stage = "test"
	}
	if js.When == "" {
		js.When = "on_success"
	}
	if !validWhen(js.When) {
		return invalidf("job %q when %q: want on_success, manual, always, on_failure or delayed", js.Name, js.When)
	}
	if js.Status == "" {
		js.Status = StatusPending
		if js.When == "manual" {
			js.Status = StatusManual
		}
	}
	if !IsValidStatus(js.Status) {
		return invalidf("job %q status %q: want one of %s", js.Name, js.Status, strings.Join(AllStatuses, ", "))
	}
	if js.Status != StatusFailed {
		js.FailureReason = ""
	} else if js.FailureReason == "" {
		js.FailureReason = ReasonUnknownFailure
	}
	if js.Flakiness < 0 || js.Flakiness > 1 {
		return invalidf("job %q flakiness %v: want 0..1", js.Name, js.Flakiness)
	}
	for _, o := range js.Outcomes {
		if err := o.validate(); err != nil {
			return invalidf("job %q: %v", js.Name, err)
		}
	}
	if js.FlakyOutcome != nil {
		if err := js.FlakyOutcome.validate(); err != nil {
			return invalidf("job %q flaky_outcome: %v", js.Name, err)
		}
	}
	if c := js.Coverage; c != nil && !(*c >= 0 && *c <= 100) {
		return invalidf("job %q coverage %v: want 0..100", js.Name, *c)
	}
	if js.TraceBytes < 0 || js.TraceBytes > 256<<20 {
		return invalidf("job %q trace_bytes %d: want 0..268435456", js.Name, js.TraceBytes)
	}
	return nil
}

func normalizeBridgeSpec(b *BridgeSpec) error {
	if b.Name == "" {
		return invalidf("bridge name is required")
	}
	if b.Stage == "" {
		b.Stage = "deploy"
	}
	if b.When == "" {
		b.When = "on_success"
	}
	if !validWhen(b.When) {
		return invalidf("bridge %q when %q: want on_success, manual, always, on_failure or delayed", b.Name, b.When)
	}
	if b.Status == "" {
		b.Status = StatusPending
		if b.When == "manual" {
			b.Status = StatusManual
		}
	}
	if !IsValidStatus(b.Status) {
		return invalidf("bridge %q status %q: want one of %s", b.Name, b.Status, strings.Join(AllStatuses, ", "))
	}
	if b.DownstreamStatus != "" && !IsValidStatus(b.DownstreamStatus) {
		return invalidf("bridge %q downstream_status %q: want a job status", b.Name, b.DownstreamStatus)
	}
	if b.Status != StatusFailed {
		b.FailureReason = ""
	} else if b.FailureReason == "" {
		b.FailureReason = ReasonUnknownFailure
	}
	return nil
}

// initialTimes derives a job's timestamps from the status it is created in.
// A job given an old created_at is taken to have queued 5s and run 90s, so an
// old finished job looks like one.
func initialTimes(j *job, created, started, finished *time.Time, now time.Time) {
	j.createdAt = now
	old := created != nil
	if old {
		j.createdAt = created.UTC()
	}
	queuedish := j.status != StatusCreated && j.status != StatusManual && j.status != StatusSkipped &&
		j.status != StatusScheduled
	if queuedish {
		j.queuedAt = j.createdAt
	}
	if hasStarted(j.status) || started != nil {
		switch {
		case started != nil:
			j.startedAt = started.UTC()
		case old:
			j.startedAt = j.createdAt.Add(5 * time.Second)
		default:
			j.startedAt = j.createdAt
		}
		if j.queuedAt.IsZero() || j.queuedAt.After(j.startedAt) {
			j.queuedAt = j.startedAt
		}
	}
	if isFinished(j.status) && j.status != StatusSkipped {
		switch {
		case finished != nil:
			j.finishedAt = finished.UTC()
		case old && !j.startedAt.IsZero():
			j.finishedAt = j.startedAt.Add(90 * time.Second)
		case old:
			j.finishedAt = j.createdAt.Add(5 * time.Second)
		default:
			j.finishedAt = now
		}
		if !j.startedAt.IsZero() && j.finishedAt.Before(j.startedAt) {
			j.finishedAt = j.startedAt
		}
	}
}

func (st *store) addBuild(pl *pipeline, js JobSpec, now time.Time) *job {
	j := &job{
		id: st.nextJob, kind: kindBuild, project: pl.project, pipeline: pl,
		name: js.Name, stage: js.Stage, status: js.Status, reason: js.FailureReason, when: js.When,
		tagList: append([]string(nil), js.TagList...), allowFailure: js.AllowFailure,
		coverage: js.Coverage, user: pl.user, producesArtifacts: js.Artifacts,
		stuck: js.Stuck, flakiness: js.Flakiness, environment: js.Environment,
		environmentTier: js.EnvironmentTier,
	}
	st.nextJob++
	j.flakyOutcome = Outcome{Status: StatusFailed, FailureReason: ReasonScriptFailure}
	if js.FlakyOutcome != nil {
		j.flakyOutcome = *js.FlakyOutcome
	}
	initialTimes(j, js.CreatedAt, js.StartedAt, js.FinishedAt, now)
	if js.Trace != "" || js.TraceBytes > 0 {
		j.trace = makeTrace(js.Trace, js.TraceBytes)
	}
	if j.producesArtifacts && (j.status == StatusSuccess || j.status == StatusFailed) {
		j.hasArtifacts = true
		j.artifactsExpireAt = j.finishedAt.Add(30 * 24 * time.Hour)
	}
	if len(js.Outcomes) > 0 && pl.outcomes[js.Name] == nil {
		pl.outcomes[js.Name] = &outcomeScript{list: append([]Outcome(nil), js.Outcomes...)}
	}
	st.attach(j)
	if tokenActive(j.status) {
		st.issueToken(j)
	}
	return j
}

func (st *store) addBridge(pl *pipeline, bs BridgeSpec, now time.Time, seed int64) *job {
	j := &job{
		id: st.nextJob, kind: kindBridge, project: pl.project, pipeline: pl,
		name: bs.Name, stage: bs.Stage, status: bs.Status, reason: bs.FailureReason, when: bs.When,
		allowFailure: bs.AllowFailure, user: pl.user, downstreamProjectID: bs.DownstreamProjectID,
	}
	st.nextJob++
	initialTimes(j, bs.CreatedAt, nil, nil, now)
	st.attach(j)
	if bs.DownstreamStatus != "" {
		st.createDownstream(j, bs.DownstreamStatus, now, seed)
	}
	return j
}

func (st *store) createDownstream(j *job, status string, now time.Time, seed int64) {
	dp := j.pipeline.project
	if p := st.projects[j.downstreamProjectID]; p != nil {
		dp = p
	}
	d := st.newPipeline(dp, j.pipeline.ref, "", j.user, now, seed)
	d.source = "pipeline"
	d.fixedStatus = status
	j.downstream = d
}

// attach links a new job into its pipeline, project index and the engine's
// active set.
func (st *store) attach(j *job) {
	st.jobs[j.id] = j
	pl := j.pipeline
	if j.isBuild() {
		pl.builds = append(pl.builds, j)
		j.project.idx.add(j.id, j.status)
	} else {
		pl.bridges = append(pl.bridges, j)
	}
	pl.counts[bucketOf(j.status, j.allowFailure)]++
	if j.status == StatusPending || j.status == StatusRunning {
		st.active[j.id] = j
	}
}

func makeTrace(text string, size int) []byte {
	b := []byte(text)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	if size > len(b) {
		b = slices.Grow(b, size-len(b)+80)
	}
	for n := int64(0); len(b) < size; n++ {
		b = append(b, "filler line "...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, ": the quick brown fox jumps over the lazy dog\n"...)
	}
	if size > 0 && len(b) > size && len(text) < size {
		b = b[:size]
	}
	return b
}

func (st *store) issueToken(j *job) {
	if j.token != "" {
		delete(st.jobByToken, j.token)
	}
	j.token = randomToken("glcbt-")
	st.jobByToken[j.token] = j
}

// setStatus moves a job to a status, keeping timestamps, the indexes, the
// pipeline counts, the token and the active set consistent. It is the only
// place a job's status changes after creation.
func (st *store) setStatus(j *job, to, reason string, now time.Time) {
	from := j.status
	if !j.retried {
		j.pipeline.counts[bucketOf(from, j.allowFailure)]--
		j.pipeline.counts[bucketOf(to, j.allowFailure)]++
	}
	if j.isBuild() {
		j.project.idx.move(j.id, from, to)
	}
	j.status = to
	j.reason = ""
	if to == StatusFailed {
		j.reason = reason
		if j.reason == "" {
			j.reason = ReasonUnknownFailure
		}
	}
	j.cancelGen++
	j.pipeline.updatedAt = now
	switch {
	case to == StatusRunning || to == StatusCanceling:
		if !tokenActive(from) { // a new run: fresh start time, log cursor and token
			j.startedAt = now
			j.finishedAt = time.Time{}
			j.logLines = 0
			j.lastLogAt = now
			if j.isBuild() { // bridges have no runner, hence no token
				st.issueToken(j)
			}
		}
		if j.queuedAt.IsZero() {
			j.queuedAt = j.startedAt
		}
	case isFinished(to):
		if to != StatusSkipped {
			j.finishedAt = now
		}
		if j.producesArtifacts && j.erasedAt.IsZero() && (to == StatusSuccess || to == StatusFailed) {
			j.hasArtifacts = true
			j.artifactsExpireAt = now.Add(30 * 24 * time.Hour)
		}
	default: // back to a waiting status: a new run starts from scratch
		j.startedAt, j.finishedAt = time.Time{}, time.Time{}
		if to == StatusPending || to == StatusWaitingForResource || to == StatusPreparing {
			j.queuedAt = now
		} else {
			j.queuedAt = time.Time{}
		}
	}
	if to == StatusPending || to == StatusRunning {
		st.active[j.id] = j
	} else {
		delete(st.active, j.id)
	}
}

// retry creates the next attempt of j, as Ci::RetryJobService does: same
// name, stage, ref and tags, status pending, user the caller; j is marked
// retried and leaves the pipeline's latest jobs.
func (st *store) retry(j *job, by *user, now time.Time) *job {
	n := &job{
		id: st.nextJob, kind: j.kind, project: j.project, pipeline: j.pipeline,
		name: j.name, stage: j.stage, status: StatusPending, when: j.when,
		tagList: j.tagList, allowFailure: j.allowFailure, user: by,
		createdAt: now, queuedAt: now, producesArtifacts: j.producesArtifacts,
		retryOf: j.id, stuck: j.stuck, flakiness: j.flakiness, flakyOutcome: j.flakyOutcome,
		environment: j.environment, environmentTier: j.environmentTier,
		downstreamProjectID: j.downstreamProjectID,
	}
	st.nextJob++
	j.pipeline.counts[bucketOf(j.status, j.allowFailure)]--
	j.retried = true
	j.pipeline.updatedAt = now
	st.attach(n)
	return n
}

func (st *store) erase(j *job, now time.Time) {
	j.erasedAt = now
	j.trace = nil
	j.hasArtifacts = false
	j.artifactsExpireAt = time.Time{}
}

func (st *store) snapshotJob(j *job) Job {
	out := Job{
		ID: j.id, ProjectID: j.project.id, PipelineID: j.pipeline.id, Kind: "build",
		Name: j.name, Stage: j.stage, Status: j.status, FailureReason: j.reason, When: j.when,
		Ref: j.pipeline.ref, AllowFailure: j.allowFailure, Retried: j.retried, RetryOf: j.retryOf,
		Variables: append([]Variable(nil), j.variables...), TraceSize: len(j.trace),
		HasArtifacts: j.hasArtifacts, TokenActive: j.token != "" && tokenActive(j.status),
		CreatedAt: j.createdAt, QueuedAt: optTime(j.queuedAt), StartedAt: optTime(j.startedAt),
		FinishedAt: optTime(j.finishedAt), ErasedAt: optTime(j.erasedAt),
	}
	if !j.isBuild() {
		out.Kind = "bridge"
	}
	if j.user != nil {
		out.Username = j.user.username
	}
	if j.downstream != nil {
		out.DownstreamPipelineID = j.downstream.id
	}
	return out
}
