// Package jobopscli is the kubectl jobops plugin: it turns the job a person
// has in hand (a GitLab job URL, or group/app#123) into a JobAction, and
// shows what the operator does.
package jobopscli

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// JobRef is a job as given on the command line.
type JobRef struct {
	// Given is the argument as typed.
	Given string
	// URL is set for a web URL: the job page's address.
	URL *url.URL
	// Path is the URL's path before /-/jobs/: the GitLab instance's own path
	// (if it lives under one) and the project's full path.
	Path string
	// Project is the project's full path: set by the short form, or by
	// Resolve once the connection (and so the instance's path) is known.
	Project string
	// JobID is the job's id.
	JobID int64
}

var (
	// shortRef is group/app#123; the project path has at least one slash, as
	// a JobAction's project must.
	shortRef = regexp.MustCompile(`^([a-zA-Z0-9_.][a-zA-Z0-9_.-]*(?:/[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)+)#([0-9]+)$`)
	// jobPath is what GitLab puts after the project in a job's address:
	// /-/jobs/123, with /raw, /artifacts/... or a trailing slash after it.
	jobPath = regexp.MustCompile(`^(/.+?)/-/jobs/([0-9]+)(/.*)?$`)
)

// ParseJobRef reads a job's web URL (https://gitlab.example.com/group/app/-/jobs/123)
// or the short form group/app#123.
func ParseJobRef(s string) (JobRef, error) {
	ref := JobRef{Given: s}
	if m := shortRef.FindStringSubmatch(s); m != nil {
		id, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || id < 1 {
			return ref, notAJob(s, "its job id is not a number of 1 or more")
		}
		ref.Project, ref.JobID = m[1], id
		return ref, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ref, notAJob(s, "it is neither a job's web URL nor group/app#123")
	}
	m := jobPath.FindStringSubmatch(strings.TrimSuffix(u.EscapedPath(), "/"))
	if m == nil {
		switch {
		case strings.Contains(u.Path, "/-/pipelines/"):
			return ref, notAJob(s, "it is a pipeline's URL: open the job in the pipeline and copy its URL")
		case strings.Contains(u.Path, "/-/merge_requests/"):
			return ref, notAJob(s, "it is a merge request's URL: open the job in its pipeline and copy its URL")
		}
		return ref, notAJob(s, "its path has no /-/jobs/<id>")
	}
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || id < 1 {
		return ref, notAJob(s, "its job id is not a number of 1 or more")
	}
	path, err := url.PathUnescape(m[1])
	if err != nil {
		return ref, notAJob(s, err.Error())
	}
	ref.URL, ref.Path, ref.JobID = u, path, id
	return ref, nil
}

func notAJob(s, why string) error {
	return fmt.Errorf("%q is not a job: %s; give a job's web URL, such as https://gitlab.example.com/group/app/-/jobs/123, or group/app#123", s, why)
}

// Connection is what the plugin needs of a GitLabConnection.
type Connection struct {
	Name, URL string
}

func (c Connection) String() string { return c.Name + " (" + c.URL + ")" }

// Resolve picks the connection for the job: the one named, or else, for a
// URL, the one whose spec.url has the URL's host and port and the longest
// path prefix of it, and for the short form the only connection there is.
// It returns the connection and sets ref.Project.
func Resolve(ref *JobRef, conns []Connection, named string) (Connection, error) {
	if named != "" {
		i := slices.IndexFunc(conns, func(c Connection) bool { return c.Name == named })
		if i < 0 {
			return Connection{}, fmt.Errorf("no GitLabConnection %q here; %s", named, seen(conns))
		}
		if ref.URL == nil {
			return conns[i], nil
		}
		project, ok := projectUnder(ref, conns[i].URL)
		if !ok {
			return Connection{}, fmt.Errorf("GitLabConnection %s is not for %s", conns[i], ref.Given)
		}
		ref.Project = project
		return conns[i], nil
	}
	if ref.URL == nil {
		switch len(conns) {
		case 1:
			return conns[0], nil
		case 0:
			return Connection{}, fmt.Errorf("no GitLabConnection here: create one first (kubectl explain gitlabconnection.spec)")
		}
		return Connection{}, fmt.Errorf("%s names no GitLab instance; pick a connection with --connection: %s", ref.Given, seen(conns))
	}
	var best Connection
	bestLen := -1
	for _, c := range conns {
		project, ok := projectUnder(ref, c.URL)
		if ok && len(project) > 0 && len(ref.Path)-len(project) > bestLen {
			best, bestLen, ref.Project = c, len(ref.Path)-len(project), project
		}
	}
	if bestLen < 0 {
		return Connection{}, fmt.Errorf("no GitLabConnection here is for %s; %s", ref.URL.Host, seen(conns))
	}
	return best, nil
}

// projectUnder returns the project path of ref if connURL's host, port and
// path are those of the job's URL.
func projectUnder(ref *JobRef, connURL string) (string, bool) {
	u, err := url.Parse(connURL)
	if err != nil || !strings.EqualFold(hostPort(u), hostPort(ref.URL)) {
		return "", false
	}
	base := strings.TrimSuffix(u.Path, "/")
	if !strings.HasPrefix(ref.Path, base+"/") {
		return "", false
	}
	project := strings.TrimPrefix(ref.Path, base+"/")
	return project, strings.Contains(project, "/")
}

// hostPort is host:port with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func seen(conns []Connection) string {
	if len(conns) == 0 {
		return "there is none: create one (kubectl explain gitlabconnection.spec)"
	}
	names := make([]string, len(conns))
	for i, c := range conns {
		names[i] = c.String()
	}
	return "the connections here are: " + strings.Join(names, ", ")
}

// GenerateName makes a JobAction's name a person can read in kubectl get:
// the action, the project's last path segment and the job id, and a random
// suffix, because a new request needs a new name (the operator treats an
// identical JobAction applied again as the same request, done once).
func GenerateName(action civ1alpha1.ActionType, project string, jobID int64) string {
	last := project[strings.LastIndex(project, "/")+1:]
	slug := strings.Trim(nonName.ReplaceAllString(strings.ToLower(last), "-"), "-")
	if len(slug) > 30 {
		slug = strings.TrimRight(slug[:30], "-")
	}
	if slug == "" {
		slug = "job"
	}
	return fmt.Sprintf("%s-%s-%d-%s", strings.ToLower(string(action)), slug, jobID, randomSuffix())
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// randomSuffix is five characters of the alphabet Kubernetes uses for
// generateName (no vowels, no look-alikes).
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b) // never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ParseVariables reads --var KEY=VALUE and --var-from-secret KEY=secret/key.
func ParseVariables(literal, fromSecret []string) ([]civ1alpha1.PlayVariable, error) {
	var vars []civ1alpha1.PlayVariable
	seenKeys := map[string]bool{}
	add := func(flag, arg string, v civ1alpha1.PlayVariable) error {
		if !varKey.MatchString(v.Key) {
			return fmt.Errorf("%s %s: the key must be letters, digits and underscores", flag, arg)
		}
		if seenKeys[v.Key] {
			return fmt.Errorf("%s %s: variable %s is given twice", flag, arg, v.Key)
		}
		seenKeys[v.Key] = true
		vars = append(vars, v)
		return nil
	}
	for _, a := range literal {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--var %s: want KEY=VALUE with a value", a)
		}
		if err := add("--var", a, civ1alpha1.PlayVariable{Key: k, Value: v}); err != nil {
			return nil, err
		}
	}
	for _, a := range fromSecret {
		k, ref, ok := strings.Cut(a, "=")
		secret, key, ok2 := strings.Cut(ref, "/")
		if !ok || !ok2 || secret == "" || key == "" {
			return nil, fmt.Errorf("--var-from-secret %s: want KEY=secret/key", a)
		}
		v := civ1alpha1.PlayVariable{Key: k, ValueFrom: &civ1alpha1.VariableSource{
			SecretKeyRef: civ1alpha1.SecretKeySelector{Name: secret, Key: key}}}
		if err := add("--var-from-secret", a, v); err != nil {
			return nil, err
		}
	}
	return vars, nil
}

var varKey = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
