package gitlabsim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
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
	// dirty holds the pipelines whose jobs changed since the engine last
	// processed them (processing.go).
	dirty      map[*pipeline]bool
	processing bool // an engine processes pipelines; set once, before use
	hooks      map[int64]*hook
	// sink sends what hooks announce; set once, before use.
	sink hookSink

	nextUser, nextProject, nextGroup, nextPipeline, nextJob, nextAgent, nextHook int64
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
	st.dirty = map[*pipeline]bool{}
	st.hooks = map[int64]*hook{}
	st.nextUser, st.nextProject, st.nextGroup, st.nextPipeline, st.nextJob, st.nextAgent = 1, 1, 1, 1, 1, 1
	st.nextHook = 1
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
				return nil, invalidf("member %q role %q: want a username and one of guest, planner, reporter, developer, maintainer, owner", m.Username, m.Role)
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
