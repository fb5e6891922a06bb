package gitlabsim

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Creating pipelines, builds and bridges from their specs. The caller holds
// the store's write lock.

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
	if err := resolveAgo(&spec.CreatedAt, spec.CreatedAgo, "pipeline", now); err != nil {
		return nil, err
	}
	for i := range spec.Jobs {
		if err := resolveAgo(&spec.Jobs[i].CreatedAt, spec.Jobs[i].CreatedAgo, "job "+strconv.Quote(spec.Jobs[i].Name), now); err != nil {
			return nil, err
		}
	}
	for i := range spec.Bridges {
		if err := resolveAgo(&spec.Bridges[i].CreatedAt, spec.Bridges[i].CreatedAgo, "bridge "+strconv.Quote(spec.Bridges[i].Name), now); err != nil {
			return nil, err
		}
	}
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
		if b.DownstreamProjectPath != "" {
			dp := st.projectPath[strings.ToLower(b.DownstreamProjectPath)]
			if dp == nil || (b.DownstreamProjectID != 0 && b.DownstreamProjectID != dp.id) {
				return nil, fmt.Errorf("%w: downstream project %q", ErrNotFound, b.DownstreamProjectPath)
			}
			b.DownstreamProjectID = dp.id
		}
		if b.DownstreamProjectID != 0 && st.projects[b.DownstreamProjectID] == nil {
			return nil, fmt.Errorf("%w: downstream project %d", ErrNotFound, b.DownstreamProjectID)
		}
	}
	stages, err := stageOrder(spec.Stages, spec.Jobs, spec.Bridges)
	if err != nil {
		return nil, err
	}
	if err := checkNeeds(spec); err != nil {
		return nil, err
	}
	created := now
	if spec.CreatedAt != nil {
		created = spec.CreatedAt.UTC()
	}
	pl := st.newPipeline(p, spec.Ref, spec.SHA, u, created, seed)
	pl.creating = true
	pl.tag = spec.Tag
	pl.stages = stages
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
	pl.creating = false
	pl.updatedAt = lastChange(pl)
	st.pipelineChanged(pl)
	return pl, nil
}

// lastChange is when a pipeline created with its jobs' history last changed
// status: at least when it was created and when each of its jobs was created,
// started and finished, since GitLab recomputes the pipeline's status as its
// jobs move, and the last of those moves is the last write of the row.
func lastChange(pl *pipeline) time.Time {
	t := pl.createdAt
	for _, jobs := range [][]*job{pl.builds, pl.bridges} {
		for _, j := range jobs {
			for _, at := range []time.Time{j.createdAt, j.startedAt, j.finishedAt} {
				if at.After(t) {
					t = at
				}
			}
		}
	}
	return t
}

// resolveAgo turns created_ago into created_at, now minus the duration.
func resolveAgo(at **time.Time, ago, what string, now time.Time) error {
	if ago == "" {
		return nil
	}
	d, err := time.ParseDuration(ago)
	if err != nil || d < 0 {
		return invalidf("%s created_ago %q: want a duration like 72h or 30m", what, ago)
	}
	if *at != nil {
		return invalidf("%s: give created_at or created_ago, not both", what)
	}
	t := now.Add(-d)
	*at = &t
	return nil
}

// allowFailure resolves a spec's allow_failure: as given, else true for a
// when: manual job (GitLab's default for manual jobs outside rules:), false
// for others.
func allowFailure(given *bool, when string) bool {
	if given != nil {
		return *given
	}
	return when == "manual"
}

// checkNeeds refuses needs that name no job of the pipeline, or the job
// itself, as GitLab refuses such a configuration.
func checkNeeds(spec PipelineSpec) error {
	names := map[string]bool{}
	for _, j := range spec.Jobs {
		names[j.Name] = true
	}
	for _, b := range spec.Bridges {
		names[b.Name] = true
	}
	check := func(name string, needs []string) error {
		for _, n := range needs {
			if n == name || !names[n] {
				return invalidf("job %q needs %q: want another job of this pipeline", name, n)
			}
		}
		return nil
	}
	for _, j := range spec.Jobs {
		if err := check(j.Name, j.Needs); err != nil {
			return err
		}
	}
	for _, b := range spec.Bridges {
		if err := check(b.Name, b.Needs); err != nil {
			return err
		}
	}
	return nil
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
	p.pipelines = append(p.pipelines, pl)
	return pl
}

// normalizeCommon checks and defaults what builds and bridges share: a name, a
// stage, when (on_success by default) and a status (pending, or manual for a
// manual job, by default).
func normalizeCommon(kind, name string, stage *string, defaultStage string, when, status *string) error {
	if name == "" {
		return invalidf("%s name is required", kind)
	}
	if *stage == "" {
		*stage = defaultStage
	}
	if *when == "" {
		// Only a when: manual job can wait as manual, and only a delayed one
		// as scheduled, so those statuses say what when was.
		switch *status {
		case StatusManual:
			*when = "manual"
		case StatusScheduled:
			*when = "delayed"
		default:
			*when = "on_success"
		}
	}
	if !validWhen(*when) {
		return invalidf("%s %q when %q: want on_success, manual, always, on_failure or delayed", kind, name, *when)
	}
	if *status == "" {
		*status = StatusPending
		if *when == "manual" {
			*status = StatusManual
		}
	}
	if !IsValidStatus(*status) {
		return invalidf("%s %q status %q: want one of %s", kind, name, *status, strings.Join(AllStatuses, ", "))
	}
	if (*status == StatusManual && *when != "manual") || (*status == StatusScheduled && *when != "delayed") {
		return invalidf("%s %q status %s with when %s: GitLab puts only when: manual jobs in manual and when: delayed jobs in scheduled",
			kind, name, *status, *when)
	}
	return nil
}

func normalizeJobSpec(js *JobSpec) error {
	if err := normalizeCommon("job", js.Name, &js.Stage, "test", &js.When, &js.Status); err != nil {
		return err
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
	if err := normalizeCommon("bridge", b.Name, &b.Stage, "deploy", &b.When, &b.Status); err != nil {
		return err
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
		name: js.Name, stage: js.Stage, stageIdx: slices.Index(pl.stages, js.Stage), status: js.Status,
		reason: js.FailureReason, when: js.When,
		tagList: append([]string(nil), js.TagList...), allowFailure: allowFailure(js.AllowFailure, js.When),
		coverage: js.Coverage, user: pl.user, producesArtifacts: js.Artifacts, needs: slices.Clone(js.Needs),
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
		name: bs.Name, stage: bs.Stage, stageIdx: slices.Index(pl.stages, bs.Stage), status: bs.Status,
		reason: bs.FailureReason, when: bs.When, allowFailure: allowFailure(bs.AllowFailure, bs.When), needs: slices.Clone(bs.Needs), user: pl.user, downstreamProjectID: bs.DownstreamProjectID,
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
	d.sourceJob = j
	j.downstream = d
	st.pipelineChanged(d)
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
	st.touch(pl)
	st.jobChanged(j)
	st.pipelineChanged(pl)
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
