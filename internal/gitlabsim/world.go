package gitlabsim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The Go admin API: what /-/sim does over HTTP, for tests in other packages
// that drive the simulator in process.

func now() time.Time { return time.Now().UTC() }

// CreateUser adds a user with a personal access token.
func (s *Server) CreateUser(spec UserSpec) (User, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	u, err := s.st.addUser(spec, now())
	if err != nil {
		return User{}, err
	}
	return snapshotUser(u), nil
}

func snapshotUser(u *user) User {
	return User{ID: u.id, Username: u.username, Name: u.name, Email: u.email, Token: u.token, Admin: u.admin}
}

// CreateProject adds a project.
func (s *Server) CreateProject(spec ProjectSpec) (Project, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	p, err := s.st.addProject(spec, now())
	if err != nil {
		return Project{}, err
	}
	return s.snapshotProject(p), nil
}

func (s *Server) snapshotProject(p *project) Project {
	return Project{
		ID: p.id, PathWithNamespace: p.path, Name: p.name, Path: p.shortPath(),
		Namespace: p.namespace(), DefaultBranch: p.defaultBranch,
		WebURL: s.plainRenderer().base + "/" + p.path,
	}
}

// CreatePipeline adds a pipeline with its jobs and bridges; the result lists
// their ids in the order of the spec. Nothing is created when the spec is
// invalid.
func (s *Server) CreatePipeline(spec PipelineSpec) (Pipeline, error) {
	spec.Jobs = slices.Clone(spec.Jobs) // normalization writes defaults into them
	spec.Bridges = slices.Clone(spec.Bridges)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	pl, err := s.st.addPipeline(spec, now(), s.opts.Seed)
	if err != nil {
		return Pipeline{}, err
	}
	return s.snapshotPipeline(pl), nil
}

// ProjectIDs lists the ids of every project, in order.
func (s *Server) ProjectIDs() []int64 {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	ids := make([]int64, 0, len(s.st.projects))
	for id := range s.st.projects {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// CreateAgent registers an agent for /job/allowed_agents.
func (s *Server) CreateAgent(spec AgentSpec) (Agent, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cp := s.st.projects[spec.ConfigProjectID]
	if spec.ConfigProjectPath != "" {
		byPath := s.st.projectPath[strings.ToLower(spec.ConfigProjectPath)]
		if spec.ConfigProjectID != 0 && cp != byPath {
			byPath = nil // the id and the path name different projects
		}
		cp = byPath
	}
	if cp == nil {
		return Agent{}, fmt.Errorf("%w: config project %d%s", ErrNotFound, spec.ConfigProjectID, spec.ConfigProjectPath)
	}
	authorized := slices.Clone(spec.AuthorizedProjectIDs)
	for _, path := range spec.AuthorizedProjectPaths {
		p := s.st.projectPath[strings.ToLower(path)]
		if p == nil {
			return Agent{}, fmt.Errorf("%w: authorized project %q", ErrNotFound, path)
		}
		authorized = append(authorized, p.id)
	}
	id := spec.ID
	if id < 0 {
		return Agent{}, invalidf("agent id %d: want a positive id or none", id)
	}
	if id == 0 {
		id = s.st.nextAgent
		for s.st.agents[id] != nil {
			id++
		}
	} else if s.st.agents[id] != nil {
		return Agent{}, fmt.Errorf("%w: agent id %d is taken", ErrConflict, id)
	}
	a := &agent{
		id: id, name: spec.Name, configProject: cp, authorized: map[int64]bool{},
		configuration: spec.Configuration, createdAt: now(),
	}
	if a.name == "" {
		a.name = "agent-" + itoa(id)
	}
	for _, pid := range authorized {
		if s.st.projects[pid] == nil {
			return Agent{}, fmt.Errorf("%w: authorized project %d", ErrNotFound, pid)
		}
		a.authorized[pid] = true
	}
	if id >= s.st.nextAgent {
		s.st.nextAgent = id + 1
	}
	s.st.agents[id] = a
	return Agent{ID: id, Name: a.name, ConfigProjectID: cp.id, AuthorizedProjectIDs: authorized}, nil
}

// SetJobStatus moves a job to status (any of the thirteen), as a runner or
// the scheduler would. Moving to running starts a run and issues a job
// token; moving out of running or canceling ends the token's validity.
func (s *Server) SetJobStatus(id int64, status, failureReason string) (Job, error) {
	return s.TransitionJob(id, StatusSpec{Status: status, FailureReason: failureReason})
}

// TransitionJob applies a StatusSpec: the status change, then the log text.
func (s *Server) TransitionJob(id int64, spec StatusSpec) (Job, error) {
	var out Job
	err := s.transition(id, spec, func(j *job) { out = s.st.snapshotJob(j) })
	return out, err
}

// transition applies spec and calls then with the job, under the lock.
func (s *Server) transition(id int64, spec StatusSpec, then func(*job)) error {
	if !IsValidStatus(spec.Status) {
		return invalidf("status %q: want one of the thirteen job statuses", spec.Status)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	j := s.st.jobs[id]
	if j == nil {
		return fmt.Errorf("%w: job %d", ErrNotFound, id)
	}
	if j.status != spec.Status || (spec.Status == StatusFailed && spec.FailureReason != j.reason) {
		s.st.setStatus(j, spec.Status, spec.FailureReason, now())
	}
	if spec.Log != "" && j.isBuild() {
		j.trace = append(j.trace, spec.Log...)
	}
	then(j)
	return nil
}

// AppendJobLog appends text to a build's log, as a runner streaming output.
func (s *Server) AppendJobLog(id int64, text string) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	j := s.st.jobs[id]
	if j == nil || !j.isBuild() {
		return fmt.Errorf("%w: build %d", ErrNotFound, id)
	}
	j.trace = append(j.trace, text...)
	return nil
}

// JobToken returns the job's CI_JOB_TOKEN. A job gets one when it starts
// running; it authenticates only while the job is running or canceling.
func (s *Server) JobToken(id int64) (string, error) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	j := s.st.jobs[id]
	if j == nil {
		return "", fmt.Errorf("%w: job %d", ErrNotFound, id)
	}
	if j.token == "" {
		return "", fmt.Errorf("%w: job %d has not run, so it has no token", ErrNotFound, id)
	}
	return j.token, nil
}

// Job returns a snapshot of a job (build or bridge).
func (s *Server) Job(id int64) (Job, bool) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	j := s.st.jobs[id]
	if j == nil {
		return Job{}, false
	}
	return s.st.snapshotJob(j), true
}

// JobTrace returns a build's log.
func (s *Server) JobTrace(id int64) (string, error) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	j := s.st.jobs[id]
	if j == nil || !j.isBuild() {
		return "", fmt.Errorf("%w: build %d", ErrNotFound, id)
	}
	return string(j.trace), nil
}

// Pipeline returns a pipeline as it is now: its status, derived from its
// latest jobs, and its jobs and bridges (latest attempts) in id order.
func (s *Server) Pipeline(id int64) (Pipeline, bool) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	pl := s.st.pipelines[id]
	if pl == nil {
		return Pipeline{}, false
	}
	return s.snapshotPipeline(pl), true
}

func (s *Server) snapshotPipeline(pl *pipeline) Pipeline {
	out := Pipeline{
		ID: pl.id, IID: pl.iid, ProjectID: pl.project.id, Ref: pl.ref, SHA: pl.sha, Stages: pl.stageNames(),
		Status: pl.status(), WebURL: s.plainRenderer().base + "/" + pl.project.path + "/-/pipelines/" + itoa(pl.id),
		Jobs: []JobRef{}, Bridges: []JobRef{},
	}
	for _, j := range pl.builds {
		if !j.retried {
			out.Jobs = append(out.Jobs, JobRef{ID: j.id, Name: j.name})
		}
	}
	for _, j := range pl.bridges {
		if !j.retried {
			out.Bridges = append(out.Bridges, JobRef{ID: j.id, Name: j.name})
		}
	}
	return out
}

// PipelineJobs returns every job of a pipeline, builds then bridges, each in
// id order, retried attempts included: the place to find the attempt a
// retry created.
func (s *Server) PipelineJobs(pipelineID int64) ([]Job, error) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	pl := s.st.pipelines[pipelineID]
	if pl == nil {
		return nil, fmt.Errorf("%w: pipeline %d", ErrNotFound, pipelineID)
	}
	out := make([]Job, 0, len(pl.builds)+len(pl.bridges))
	for _, j := range pl.builds {
		out = append(out, s.st.snapshotJob(j))
	}
	for _, j := range pl.bridges {
		out = append(out, s.st.snapshotJob(j))
	}
	return out, nil
}

// LatestAttempt returns the newest attempt of the job named name in a
// pipeline (what a retry of it created, if any).
func (s *Server) LatestAttempt(pipelineID int64, name string) (Job, bool) {
	jobs, err := s.PipelineJobs(pipelineID)
	if err != nil {
		return Job{}, false
	}
	for i := len(jobs) - 1; i >= 0; i-- {
		if jobs[i].Name == name && !jobs[i].Retried {
			return jobs[i], true
		}
	}
	return Job{}, false
}

// Stats returns a consistent copy of the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the counters, to measure one phase of a test.
func (s *Server) ResetStats() { s.stats.reset() }

// SetFaults replaces the injected faults; see Faults.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// ClearFaults removes the injected faults.
func (s *Server) ClearFaults() { s.faults.clear() }

// FaultState returns the injected faults and how many requests they still
// apply to.
func (s *Server) FaultState() FaultState { return s.faults.state() }

// SetJobsRateLimit changes the per-user limit of the project jobs list
// (requests a minute; zero or less turns it off).
func (s *Server) SetJobsRateLimit(perMinute int) { s.limiter.setLimit(perMinute) }

// Reset empties the world (users, projects, pipelines, jobs, agents,
// tokens, hooks and their queued deliveries), restarts ids at 1, and clears
// stats, faults (API and webhook) and rate-limit windows. Options (rate
// limit, lifecycle) stay.
func (s *Server) Reset() {
	s.st.mu.Lock()
	s.st.reset()
	s.sender.stopAll()
	s.st.mu.Unlock()
	s.stats.reset()
	s.faults.clear()
	s.sender.faults.clear()
	s.limiter.reset()
}
