package gitlabsim

import (
	"bytes"
	"io"
	"net/http"
	"sort"
)

// Single-job reads, the job-token endpoints, /user and /version.

// buildFor resolves :job_id to a build of the project (a bridge id is 404
// here, as in GitLab); the caller holds the lock.
func (s *Server) buildFor(pr *project, id int64, bridges bool) (*job, reply) {
	j := s.st.jobs[id]
	if j == nil || j.project != pr || (!j.isBuild() && !bridges) {
		return nil, notFound
	}
	return j, nil
}

// GET /projects/:id/jobs/:job_id
func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p principal) {
	id, err := intParam(r, "job_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	rd := s.renderer(r)
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleReporter)
	var j *job
	if fail == nil {
		j, fail = s.buildFor(pr, id, false)
	}
	if fail != nil {
		s.st.mu.RUnlock()
		fail(w)
		return
	}
	out := rd.job(j)
	s.st.mu.RUnlock()
	writeRawJSON(w, http.StatusOK, out)
}

// GET /projects/:id/jobs/:job_id/trace: the raw log as text/plain, streamed;
// an empty 200 when there is none.
func (s *Server) getTrace(w http.ResponseWriter, r *http.Request, p principal) {
	id, err := intParam(r, "job_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleReporter)
	var j *job
	if fail == nil {
		j, fail = s.buildFor(pr, id, false)
	}
	if fail != nil {
		s.st.mu.RUnlock()
		fail(w)
		return
	}
	// A full slice expression caps the capacity, so nothing the engine
	// appends later can show through; see job.trace.
	trace := j.trace[:len(j.trace):len(j.trace)]
	s.st.mu.RUnlock()

	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Disposition", `infile; filename="`+itoa(id)+`.log"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, bytes.NewReader(trace))
	}
}

// GET /job: the job of the job token. Any other credential gets 404 Job Not
// Found.
func (s *Server) jobTokenJob(w http.ResponseWriter, r *http.Request, p principal) {
	if p.job == nil {
		jobNotFound(w)
		return
	}
	rd := s.renderer(r)
	s.st.mu.RLock()
	out := rd.job(p.job)
	s.st.mu.RUnlock()
	writeRawJSON(w, http.StatusOK, out)
}

type apiAgentProject struct {
	ID                int64   `json:"id"`
	Description       *string `json:"description"`
	Name              string  `json:"name"`
	NameWithNamespace string  `json:"name_with_namespace"`
	Path              string  `json:"path"`
	PathWithNamespace string  `json:"path_with_namespace"`
	CreatedAt         jsTime  `json:"created_at"`
}

type apiAllowedAgent struct {
	ID            int64           `json:"id"`
	ConfigProject apiAgentProject `json:"config_project"`
	Configuration map[string]any  `json:"configuration"`
}

type apiID struct {
	ID int64 `json:"id"`
}

type apiAllowedAgents struct {
	AllowedAgents []apiAllowedAgent `json:"allowed_agents"`
	Job           apiID             `json:"job"`
	Pipeline      apiID             `json:"pipeline"`
	Project       struct {
		ID     int64   `json:"id"`
		Groups []apiID `json:"groups"`
	} `json:"project"`
	User        *apiAgentUser `json:"user"`
	Environment *struct {
		Tier string `json:"tier"`
		Slug string `json:"slug"`
	} `json:"environment,omitempty"`
}

// apiAgentUser is the user as /job/allowed_agents shows it: only id,
// username and roles (lib/api/ci/jobs.rb), not the full user entity.
type apiAgentUser struct {
	ID             int64    `json:"id"`
	Username       string   `json:"username"`
	RolesInProject []string `json:"roles_in_project"`
}

func (s *Server) agentProject(pr *project) apiAgentProject {
	var desc *string
	if pr.description != "" {
		d := pr.description
		desc = &d
	}
	return apiAgentProject{
		ID: pr.id, Description: desc, Name: pr.name, NameWithNamespace: pr.fullName(),
		Path: pr.shortPath(), PathWithNamespace: pr.path, CreatedAt: jsTime(pr.createdAt),
	}
}

// GET /job/allowed_agents: the agents the job token's project may use (those
// configured in it and those authorizing it).
func (s *Server) allowedAgents(w http.ResponseWriter, _ *http.Request, p principal) {
	if p.job == nil {
		jobNotFound(w)
		return
	}
	s.st.mu.RLock()
	j := p.job
	out := apiAllowedAgents{AllowedAgents: []apiAllowedAgent{}}
	ids := make([]int64, 0, len(s.st.agents))
	for id := range s.st.agents {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	for _, id := range ids {
		a := s.st.agents[id]
		if a.configProject != j.project && !a.authorized[j.project.id] {
			continue
		}
		cfg := a.configuration
		if cfg == nil {
			cfg = map[string]any{}
		}
		out.AllowedAgents = append(out.AllowedAgents, apiAllowedAgent{
			ID: a.id, ConfigProject: s.agentProject(a.configProject), Configuration: cfg,
		})
	}
	out.Job.ID = j.id
	out.Pipeline.ID = j.pipeline.id
	out.Project.ID = j.project.id
	out.Project.Groups = []apiID{}
	for _, g := range j.project.groupIDs {
		out.Project.Groups = append(out.Project.Groups, apiID{g})
	}
	if j.user != nil {
		out.User = &apiAgentUser{
			ID: j.user.id, Username: j.user.username, RolesInProject: rolesUpTo(j.project.roleOf(j.user)),
		}
	}
	if j.environment != "" {
		tier := j.environmentTier
		if tier == "" {
			tier = "other"
		}
		out.Environment = &struct {
			Tier string `json:"tier"`
			Slug string `json:"slug"`
		}{tier, slugify(j.environment)}
	}
	s.st.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

type apiCurrentUser struct {
	*apiUser
	Email            string  `json:"email"`
	CommitEmail      string  `json:"commit_email"`
	IsAdmin          bool    `json:"is_admin"`
	CanCreateGroup   bool    `json:"can_create_group"`
	CanCreateProject bool    `json:"can_create_project"`
	TwoFactorEnabled bool    `json:"two_factor_enabled"`
	External         bool    `json:"external"`
	PrivateProfile   bool    `json:"private_profile"`
	LastSignInAt     *jsTime `json:"last_sign_in_at"`
	ConfirmedAt      jsTime  `json:"confirmed_at"`
	Identities       []any   `json:"identities"`
}

// GET /user: the token's user.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request, p principal) {
	u := p.user // personal tokens only reach here, and their user is immutable
	out := apiCurrentUser{
		apiUser: s.renderer(r).apiUser(u), Email: u.email, CommitEmail: u.email, IsAdmin: u.admin,
		CanCreateGroup: true, CanCreateProject: true, ConfirmedAt: jsTime(u.createdAt), Identities: []any{},
	}
	writeJSON(w, http.StatusOK, out)
}

// GET /version
func (s *Server) version(w http.ResponseWriter, _ *http.Request, _ principal) {
	writeJSON(w, http.StatusOK, map[string]any{
		"version":  s.opts.Version,
		"revision": "gitlabsim",
		"kas": map[string]any{
			"enabled": false, "externalUrl": nil, "externalK8sProxyUrl": nil, "version": nil,
		},
		"enterprise": false,
	})
}
