package gitlabsim

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Project webhooks: what to send where. A hook belongs to a project and
// subscribes to job events (a Job Hook on every status change of one of its
// builds; bridges send none) and pipeline events (a Pipeline Hook whenever a
// pipeline's status changes). The store announces changes under its lock;
// hookdelivery.go renders and sends them.

// HookSpec registers a project hook, as GitLab's project hooks API does.
type HookSpec struct {
	// ID defaults to the next free id.
	ID int64 `json:"id,omitempty"`
	// ProjectID or ProjectPath names the project; one is required.
	ProjectID   int64  `json:"project_id,omitempty"`
	ProjectPath string `json:"project_path,omitempty"`
	// URL receives the POSTs; http or https.
	URL string `json:"url"`
	// Token is the secret token, sent as X-Gitlab-Token when set.
	Token string `json:"token,omitempty"`
	// JobEvents and PipelineEvents choose the events; at least one.
	JobEvents      bool `json:"job_events,omitempty"`
	PipelineEvents bool `json:"pipeline_events,omitempty"`
	// EnableSSLVerification verifies the receiver's certificate (default
	// true, as in GitLab); false accepts any certificate.
	EnableSSLVerification *bool `json:"enable_ssl_verification,omitempty"`
}

// Hook is a registered hook. Its token is never shown, as in GitLab.
type Hook struct {
	ID                    int64     `json:"id"`
	ProjectID             int64     `json:"project_id"`
	URL                   string    `json:"url"`
	JobEvents             bool      `json:"job_events"`
	PipelineEvents        bool      `json:"pipeline_events"`
	EnableSSLVerification bool      `json:"enable_ssl_verification"`
	CreatedAt             time.Time `json:"created_at"`
}

type hook struct {
	id             int64
	project        *project
	url            string
	token          string
	jobEvents      bool
	pipelineEvents bool
	verifyTLS      bool
	createdAt      time.Time
}

func (h *hook) snapshot() Hook {
	return Hook{
		ID: h.id, ProjectID: h.project.id, URL: h.url, JobEvents: h.jobEvents, PipelineEvents: h.pipelineEvents,
		EnableSSLVerification: h.verifyTLS, CreatedAt: h.createdAt,
	}
}

// hookSink receives the changes hooks announce, under the store's lock.
type hookSink interface {
	jobEvent(hooks []*hook, j *job)
	pipelineEvent(hooks []*hook, pl *pipeline)
}

// jobChanged announces a build's new status to the project's job hooks.
func (st *store) jobChanged(j *job) {
	if st.sink == nil || !j.isBuild() || len(j.project.hooks) == 0 {
		return
	}
	if hs := hooksFor(j.project.hooks, func(h *hook) bool { return h.jobEvents }); len(hs) > 0 {
		st.sink.jobEvent(hs, j)
	}
}

// pipelineChanged announces a pipeline's status when it differs from the
// one last announced; not while the pipeline is being created.
func (st *store) pipelineChanged(pl *pipeline) {
	if pl.creating {
		return
	}
	s := pl.status()
	if s == pl.announced {
		return
	}
	pl.announced = s
	if st.sink == nil || len(pl.project.hooks) == 0 {
		return
	}
	if hs := hooksFor(pl.project.hooks, func(h *hook) bool { return h.pipelineEvents }); len(hs) > 0 {
		st.sink.pipelineEvent(hs, pl)
	}
}

func hooksFor(all []*hook, want func(*hook) bool) []*hook {
	var out []*hook
	for _, h := range all {
		if want(h) {
			out = append(out, h)
		}
	}
	return out
}

func (st *store) addHook(spec HookSpec, now time.Time) (*hook, error) {
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
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidf("url %q: want an http or https URL", spec.URL)
	}
	if !spec.JobEvents && !spec.PipelineEvents {
		return nil, invalidf("hook %q: want job_events, pipeline_events or both", spec.URL)
	}
	if spec.ID < 0 {
		return nil, invalidf("hook id %d: want a positive id or none", spec.ID)
	}
	id := spec.ID
	if id == 0 {
		id = st.nextHook
		for st.hooks[id] != nil {
			id++
		}
	} else if st.hooks[id] != nil {
		return nil, fmt.Errorf("%w: hook id %d is taken", ErrConflict, id)
	}
	h := &hook{
		id: id, project: p, url: spec.URL, token: spec.Token, jobEvents: spec.JobEvents,
		pipelineEvents: spec.PipelineEvents, verifyTLS: spec.EnableSSLVerification == nil || *spec.EnableSSLVerification,
		createdAt: now,
	}
	if id >= st.nextHook {
		st.nextHook = id + 1
	}
	st.hooks[id] = h
	p.hooks = append(p.hooks, h)
	slices.SortFunc(p.hooks, func(a, b *hook) int { return int(a.id - b.id) })
	return h, nil
}

func (st *store) deleteHook(id int64) (*hook, error) {
	h := st.hooks[id]
	if h == nil {
		return nil, fmt.Errorf("%w: hook %d", ErrNotFound, id)
	}
	delete(st.hooks, id)
	h.project.hooks = slices.DeleteFunc(h.project.hooks, func(o *hook) bool { return o == h })
	return h, nil
}

// CreateHook registers a project hook. From then on every job status change
// of the project's builds (job_events) and every change of a pipeline's
// status (pipeline_events) is POSTed to it, asynchronously, in order.
func (s *Server) CreateHook(spec HookSpec) (Hook, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	h, err := s.st.addHook(spec, now())
	if err != nil {
		return Hook{}, err
	}
	s.sender.start(h)
	return h.snapshot(), nil
}

// Hooks lists the registered hooks in id order.
func (s *Server) Hooks() []Hook {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	out := make([]Hook, 0, len(s.st.hooks))
	for _, h := range s.st.hooks {
		out = append(out, h.snapshot())
	}
	slices.SortFunc(out, func(a, b Hook) int { return int(a.ID - b.ID) })
	return out
}

// DeleteHook removes a hook; deliveries still queued for it are dropped.
func (s *Server) DeleteHook(id int64) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	h, err := s.st.deleteHook(id)
	if err != nil {
		return err
	}
	s.sender.stop(h)
	return nil
}
