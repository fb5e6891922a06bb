package gitlabsim

import (
	"net/http"
	"net/url"
	"strings"
)

// GET /projects/:id: the project entity (Entities::ProjectWithAccess), cut
// to what scripts and clients read: ids, names and paths, URLs, the default
// branch, the namespace, and the caller's access.

type apiNamespace struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int64  `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

type apiAccess struct {
	AccessLevel       int `json:"access_level"`
	NotificationLevel int `json:"notification_level"`
}

type apiProject struct {
	ID                   int64             `json:"id"`
	Description          *string           `json:"description"`
	Name                 string            `json:"name"`
	NameWithNamespace    string            `json:"name_with_namespace"`
	Path                 string            `json:"path"`
	PathWithNamespace    string            `json:"path_with_namespace"`
	CreatedAt            jsTime            `json:"created_at"`
	DefaultBranch        string            `json:"default_branch"`
	TagList              []string          `json:"tag_list"`
	Topics               []string          `json:"topics"`
	SSHURLToRepo         string            `json:"ssh_url_to_repo"`
	HTTPURLToRepo        string            `json:"http_url_to_repo"`
	WebURL               string            `json:"web_url"`
	ReadmeURL            *string           `json:"readme_url"`
	ForksCount           int               `json:"forks_count"`
	AvatarURL            *string           `json:"avatar_url"`
	StarCount            int               `json:"star_count"`
	LastActivityAt       jsTime            `json:"last_activity_at"`
	Namespace            apiNamespace      `json:"namespace"`
	Links                map[string]string `json:"_links"`
	EmptyRepo            bool              `json:"empty_repo"`
	Archived             bool              `json:"archived"`
	Visibility           string            `json:"visibility"`
	JobsEnabled          bool              `json:"jobs_enabled"`
	BuildsAccessLevel    string            `json:"builds_access_level"`
	SharedRunnersEnabled bool              `json:"shared_runners_enabled"`
	CIConfigPath         *string           `json:"ci_config_path"`
	Permissions          struct {
		ProjectAccess *apiAccess `json:"project_access"`
		GroupAccess   *apiAccess `json:"group_access"`
	} `json:"permissions"`
}

// repoURLs are the clone URLs GitLab derives from its external URL.
func repoURLs(base, path string) (ssh, http string) {
	host := base
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "git@" + host + ":" + path + ".git", base + "/" + path + ".git"
}

// namespaceOf renders the group a project lives in (the deepest of its
// groups); the simulator names groups after their paths.
func (s *Server) namespaceOf(base string, p *project) apiNamespace {
	ns := p.namespace()
	out := apiNamespace{Name: ns, Path: ns, Kind: "user", FullPath: ns, WebURL: base + "/" + ns}
	if n := len(p.groupIDs); n > 0 {
		out.ID, out.Kind = p.groupIDs[n-1], "group"
		out.Name = ns[strings.LastIndex(ns, "/")+1:]
		out.Path = out.Name
		out.WebURL = base + "/groups/" + ns
		if n > 1 {
			parent := p.groupIDs[n-2]
			out.ParentID = &parent
		}
	}
	return out
}

func (s *Server) apiProject(base string, p *project, role int) apiProject {
	ssh, http := repoURLs(base, p.path)
	web := base + "/" + p.path
	var desc *string
	if p.description != "" {
		d := p.description
		desc = &d
	}
	out := apiProject{
		ID: p.id, Description: desc, Name: p.name, NameWithNamespace: p.fullName(), Path: p.shortPath(),
		PathWithNamespace: p.path, CreatedAt: jsTime(p.createdAt), DefaultBranch: p.defaultBranch,
		TagList: []string{}, Topics: []string{}, SSHURLToRepo: ssh, HTTPURLToRepo: http, WebURL: web,
		LastActivityAt: jsTime(p.createdAt), Namespace: s.namespaceOf(base, p),
		Links: map[string]string{
			"self":           base + "/api/v4/projects/" + itoa(p.id),
			"issues":         base + "/api/v4/projects/" + itoa(p.id) + "/issues",
			"merge_requests": base + "/api/v4/projects/" + itoa(p.id) + "/merge_requests",
			"repo_branches":  base + "/api/v4/projects/" + itoa(p.id) + "/repository/branches",
			"labels":         base + "/api/v4/projects/" + itoa(p.id) + "/labels",
			"events":         base + "/api/v4/projects/" + itoa(p.id) + "/events",
			"members":        base + "/api/v4/projects/" + itoa(p.id) + "/members",
			"cluster_agents": base + "/api/v4/projects/" + itoa(p.id) + "/cluster_agents",
		},
		Visibility: "private", JobsEnabled: true, BuildsAccessLevel: "enabled", SharedRunnersEnabled: true,
	}
	if len(p.pipelines) > 0 {
		out.LastActivityAt = jsTime(p.pipelines[len(p.pipelines)-1].updatedAt)
	}
	out.Permissions.ProjectAccess = &apiAccess{AccessLevel: role, NotificationLevel: 3}
	return out
}

// GET /projects/:id: any member may read it (guest and up); others get 404.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request, p principal) {
	base := s.base(r)
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleGuest)
	var out apiProject
	if fail == nil {
		out = s.apiProject(base, pr, p.access(pr))
	}
	s.st.mu.RUnlock()
	if fail != nil {
		fail(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
