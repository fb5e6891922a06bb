package gitlabsim

import (
	"net/http"
	"strings"
)

// principal is who a request acts as: a user through a personal token, or a
// job through its CI_JOB_TOKEN (acting as the job's user, limited to the
// job's project).
type principal struct {
	user *user
	job  *job // set when authenticated by a job token
}

// rateKey identifies the caller for per-user rate limits.
func (p principal) rateKey() string {
	switch {
	case p.user != nil:
		return "user:" + itoa(p.user.id)
	case p.job != nil:
		return "job:" + itoa(p.job.id)
	}
	return "anonymous"
}

// authMode is what a route accepts, as its Grape before filters and route
// settings say.
type authMode int

const (
	// authToken: an access token; anything else is 401 (authenticate!).
	authToken authMode = iota
	// authTokenOrJob: an access token or a running job's token
	// (job_token_allowed: true).
	authTokenOrJob
	// authAnyone: anonymous callers pass (authenticate_non_get! on a GET)
	// and then see only public projects, which the simulator has none of,
	// so they get 404 Project Not Found; a token that does not authenticate
	// is still 401. A job token is ignored: the route does not take one.
	authAnyone
	// authAnyoneOrJob: as authAnyone, and a job token is taken.
	authAnyoneOrJob
)

func (m authMode) jobTokens() bool { return m == authTokenOrJob || m == authAnyoneOrJob }

func (m authMode) anonymous() bool { return m == authAnyone || m == authAnyoneOrJob }

type credentials struct {
	private string // PRIVATE-TOKEN header or private_token query
	bearer  string // Authorization: Bearer
	job     string // JOB-TOKEN header or job_token query
}

func readCredentials(r *http.Request) credentials {
	q := r.URL.Query()
	c := credentials{
		private: r.Header.Get("PRIVATE-TOKEN"),
		job:     r.Header.Get("JOB-TOKEN"),
	}
	if c.private == "" {
		c.private = q.Get("private_token")
	}
	if c.job == "" {
		c.job = q.Get("job_token")
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		c.bearer = strings.TrimSpace(a[7:])
	}
	return c
}

// authenticate follows GitLab's order: an access token (header, query or
// Bearer) first, then a job token where the route accepts one. A job token
// counts only while its job runs. ok is false for a 401.
func (s *Server) authenticate(r *http.Request, mode authMode) (p principal, ok bool) {
	c := readCredentials(r)
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	if c.private != "" {
		u := s.st.userByToken[c.private]
		return principal{user: u}, u != nil
	}
	if c.bearer != "" {
		if u := s.st.userByToken[c.bearer]; u != nil {
			return principal{user: u}, true
		}
		c.job = c.bearer
	}
	if !mode.jobTokens() {
		// GitLab does not look at a job token here; a Bearer that is not an
		// access token is still a bad credential.
		return principal{}, mode.anonymous() && c.bearer == ""
	}
	if c.job == "" {
		return principal{}, mode.anonymous()
	}
	j := s.st.jobByToken[c.job]
	if j == nil || !tokenActive(j.status) {
		return principal{}, false
	}
	return principal{user: j.user, job: j}, true
}

// access is the caller's role in project p: a job token reaches only its own
// job's project, with its user's role there (developer when the job has no
// user, as GitLab's CI user has).
func (p principal) access(pr *project) int {
	if p.job != nil {
		if p.job.project != pr {
			return roleNone
		}
		if p.user == nil {
			return roleDeveloper
		}
	}
	return pr.roleOf(p.user)
}
