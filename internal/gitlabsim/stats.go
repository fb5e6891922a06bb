package gitlabsim

import (
	"maps"
	"slices"
	"sync"
)

// Stats is what the simulator has counted since it started (or since the
// last Reset or ResetStats): how many API requests each route template got
// and answered with each status code, which actions were performed on which
// job, and the variables of the last play of each job. It is how tests
// measure a client's API cost.
type Stats struct {
	// Requests counts /api/v4 requests by route template (e.g.
	// "POST /api/v4/projects/:id/jobs/:job_id/retry", or "unmatched") and the
	// status code the client received (a lost response counts as 502).
	Requests map[string]map[int]int64 `json:"requests"`
	// TotalRequests is the sum of Requests.
	TotalRequests int64 `json:"total_requests"`
	// JobRequests counts, by job id and route template, the requests whose
	// path names a job (:job_id). Job ids are unique across projects, so a
	// test can measure what a client asked about its own jobs while other
	// clients use the same simulator.
	JobRequests map[int64]map[string]int64 `json:"job_requests"`
	// ProjectRequests counts, by project and route template, the requests
	// whose path names a project (:id), keyed by the project as the client
	// named it: its numeric id or its full path.
	ProjectRequests map[string]map[string]int64 `json:"project_requests"`
	// Actions counts the actions performed per job id: a request that passed
	// authentication and lookup and was answered 2xx (a no-op cancel counts;
	// a refused retry does not). A lost response still counts: the action
	// happened.
	Actions map[int64]ActionCounts `json:"actions"`
	// PlayVariables holds the variables of the last play of each job id.
	PlayVariables map[int64][]Variable `json:"play_variables"`
	// Hooks counts webhook deliveries by hook id.
	Hooks map[int64]HookCounts `json:"hooks"`
}

// HookCounts are the deliveries to one hook. Sent and Failed count requests
// (a duplicated delivery makes two); Dropped counts deliveries never sent
// (a drop fault, or a full queue).
type HookCounts struct {
	// Sent: the receiver answered 2xx or 3xx.
	Sent int64 `json:"sent"`
	// Failed: another status, an error, or no answer within the timeout.
	Failed  int64 `json:"failed"`
	Dropped int64 `json:"dropped"`
	// Duplicated and Reordered count the deliveries those faults touched.
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
}

// HookTotals sums the deliveries to every hook.
func (st Stats) HookTotals() HookCounts {
	var t HookCounts
	for _, c := range st.Hooks {
		t.Sent += c.Sent
		t.Failed += c.Failed
		t.Dropped += c.Dropped
		t.Duplicated += c.Duplicated
		t.Reordered += c.Reordered
	}
	return t
}

// ActionCounts are the actions performed on one job.
type ActionCounts struct {
	Retry  int64 `json:"retry"`
	Play   int64 `json:"play"`
	Cancel int64 `json:"cancel"`
	Erase  int64 `json:"erase"`
}

// Count returns the requests of one route template answered with code, or
// with any code when code is 0.
func (st Stats) Count(route string, code int) int64 {
	if code != 0 {
		return st.Requests[route][code]
	}
	var n int64
	for _, v := range st.Requests[route] {
		n += v
	}
	return n
}

// Routes lists the route templates that were requested, sorted.
func (st Stats) Routes() []string { return slices.Sorted(maps.Keys(st.Requests)) }

type action int

const (
	actionRetry action = iota
	actionPlay
	actionCancel
	actionErase
)

type hookOutcome int

const (
	hookSent hookOutcome = iota
	hookFailed
	hookDropped
	hookDuplicated
	hookReordered
)

// statsRecorder is the live counter. One mutex: each recording is a map
// increment, and a snapshot copies everything at one instant, so a reader
// never sees a request counted without its total.
type statsRecorder struct {
	mu       sync.Mutex
	requests map[string]map[int]int64
	total    int64
	jobReqs  map[int64]map[string]int64
	projReqs map[string]map[string]int64
	actions  map[int64]*ActionCounts
	playVars map[int64][]Variable
	hooks    map[int64]*HookCounts
}

func newStatsRecorder() *statsRecorder {
	r := &statsRecorder{}
	r.reset()
	return r
}

func (r *statsRecorder) reset() {
	r.mu.Lock()
	r.requests = map[string]map[int]int64{}
	r.total = 0
	r.jobReqs = map[int64]map[string]int64{}
	r.projReqs = map[string]map[string]int64{}
	r.actions = map[int64]*ActionCounts{}
	r.playVars = map[int64][]Variable{}
	r.hooks = map[int64]*HookCounts{}
	r.mu.Unlock()
}

func (r *statsRecorder) hook(id int64, o hookOutcome) {
	r.mu.Lock()
	c := r.hooks[id]
	if c == nil {
		c = &HookCounts{}
		r.hooks[id] = c
	}
	switch o {
	case hookSent:
		c.Sent++
	case hookFailed:
		c.Failed++
	case hookDropped:
		c.Dropped++
	case hookDuplicated:
		c.Duplicated++
	case hookReordered:
		c.Reordered++
	}
	r.mu.Unlock()
}

// request counts one request of route answered with code; project and jobID
// are what its path names, or empty.
func (r *statsRecorder) request(route string, code int, project string, jobID int64) {
	r.mu.Lock()
	count(r.requests, route, code)
	r.total++
	if jobID != 0 {
		count(r.jobReqs, jobID, route)
	}
	if project != "" {
		count(r.projReqs, project, route)
	}
	r.mu.Unlock()
}

// count adds one to m[outer][inner], making the inner map when needed.
func count[K, L comparable](m map[K]map[L]int64, outer K, inner L) {
	c := m[outer]
	if c == nil {
		c = map[L]int64{}
		m[outer] = c
	}
	c[inner]++
}

func (r *statsRecorder) action(jobID int64, a action, vars []Variable) {
	r.mu.Lock()
	c := r.actions[jobID]
	if c == nil {
		c = &ActionCounts{}
		r.actions[jobID] = c
	}
	switch a {
	case actionRetry:
		c.Retry++
	case actionPlay:
		c.Play++
		r.playVars[jobID] = append([]Variable{}, vars...)
	case actionCancel:
		c.Cancel++
	case actionErase:
		c.Erase++
	}
	r.mu.Unlock()
}

func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{
		Requests:        make(map[string]map[int]int64, len(r.requests)),
		TotalRequests:   r.total,
		JobRequests:     make(map[int64]map[string]int64, len(r.jobReqs)),
		ProjectRequests: make(map[string]map[string]int64, len(r.projReqs)),
		Actions:         make(map[int64]ActionCounts, len(r.actions)),
		PlayVariables:   make(map[int64][]Variable, len(r.playVars)),
		Hooks:           make(map[int64]HookCounts, len(r.hooks)),
	}
	for k, v := range r.hooks {
		s.Hooks[k] = *v
	}
	for k, v := range r.requests {
		s.Requests[k] = maps.Clone(v)
	}
	for k, v := range r.jobReqs {
		s.JobRequests[k] = maps.Clone(v)
	}
	for k, v := range r.projReqs {
		s.ProjectRequests[k] = maps.Clone(v)
	}
	for k, v := range r.actions {
		s.Actions[k] = *v
	}
	for k, v := range r.playVars {
		s.PlayVariables[k] = slices.Clone(v)
	}
	return s
}
