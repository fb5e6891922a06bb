package jobopscli

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

var conns = []Connection{
	{Name: "gitlab", URL: "https://gitlab.example.com"},
	{Name: "corp", URL: "https://code.corp.example:8443/gitlab/"},
	{Name: "sim", URL: "http://127.0.0.1:8929"},
}

func TestJobURLsResolveToTheirConnectionProjectAndJob(t *testing.T) {
	for _, c := range []struct{ arg, conn, project string }{
		{"https://gitlab.example.com/group/app/-/jobs/123", "gitlab", "group/app"},
		{"https://GitLab.Example.com:443/group/sub/app/-/jobs/123/", "gitlab", "group/sub/app"},
		{"https://gitlab.example.com/group/app/-/jobs/123/raw", "gitlab", "group/app"},
		{"https://gitlab.example.com/group/app/-/jobs/123#L42", "gitlab", "group/app"},
		{"https://gitlab.example.com/group/my%2Bapp/-/jobs/123?from=pipeline", "gitlab", "group/my+app"},
		// An instance under a relative URL root: its path is not the project's.
		{"https://code.corp.example:8443/gitlab/platform/infra/-/jobs/123", "corp", "platform/infra"},
		{"http://127.0.0.1:8929/platform/app/-/jobs/123", "sim", "platform/app"},
	} {
		ref, err := ParseJobRef(c.arg)
		if err != nil {
			t.Errorf("ParseJobRef(%s): %v", c.arg, err)
			continue
		}
		conn, err := Resolve(&ref, conns, "")
		if err != nil || conn.Name != c.conn || ref.Project != c.project || ref.JobID != 123 {
			t.Errorf("%s: connection %q, project %q, job %d, %v; want %s, %s, 123", c.arg, conn.Name, ref.Project, ref.JobID, err, c.conn, c.project)
		}
	}
}

func TestTheShortFormNamesTheProjectAndJob(t *testing.T) {
	ref, err := ParseJobRef("group/sub/app#42")
	if err != nil || ref.Project != "group/sub/app" || ref.JobID != 42 || ref.URL != nil {
		t.Fatalf("ParseJobRef(group/sub/app#42) = %+v, %v", ref, err)
	}
	if c, err := Resolve(&ref, conns[:1], ""); err != nil || c.Name != "gitlab" {
		t.Errorf("one connection: %v, %v; want it picked", c, err)
	}
	if _, err := Resolve(&ref, conns, ""); err == nil || !strings.Contains(err.Error(), "--connection") || !strings.Contains(err.Error(), "corp (https://code.corp.example:8443/gitlab/)") {
		t.Errorf("several connections: %v; want an error naming them and --connection", err)
	}
	if c, err := Resolve(&ref, conns, "corp"); err != nil || c.Name != "corp" {
		t.Errorf("--connection corp: %v, %v", c, err)
	}
}

func TestWhatIsNotAJobIsRefusedWithAHint(t *testing.T) {
	for arg, why := range map[string]string{
		"https://gitlab.example.com/group/app/-/pipelines/812":    "pipeline's URL",
		"https://gitlab.example.com/group/app/-/merge_requests/7": "merge request's URL",
		"https://gitlab.example.com/group/app":                    "no /-/jobs/<id>",
		"https://gitlab.example.com/group/app/-/jobs/":            "no /-/jobs/<id>",
		"123":                                   "neither",
		"app#123":                               "neither",
		"group/app#0":                           "1 or more",
		"ftp://gitlab.example.com/a/b/-/jobs/1": "neither",
	} {
		_, err := ParseJobRef(arg)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "group/app#123") {
			t.Errorf("ParseJobRef(%s) = %v; want an error saying %q and how to give a job", arg, err, why)
		}
	}
}

func TestNoMatchingConnectionListsTheConnectionsSeen(t *testing.T) {
	for _, c := range []struct{ arg, named string }{
		{"https://gitlab.other.example/group/app/-/jobs/1", ""},
		{"https://gitlab.example.com:8443/group/app/-/jobs/1", ""},      // another port
		{"https://code.corp.example:8443/other/group/app/-/jobs/1", ""}, // outside the instance's path
		{"https://gitlab.other.example/group/app/-/jobs/1", "gitlab"},
	} {
		ref, err := ParseJobRef(c.arg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Resolve(&ref, conns, c.named)
		if err == nil || !strings.Contains(err.Error(), "gitlab (https://gitlab.example.com)") {
			t.Errorf("%s --connection=%q: %v; want an error listing the connections", c.arg, c.named, err)
		}
	}
	ref, _ := ParseJobRef("https://gitlab.example.com/group/app/-/jobs/1")
	if _, err := Resolve(&ref, nil, ""); err == nil || !strings.Contains(err.Error(), "create one") {
		t.Errorf("no connections: %v", err)
	}
}

// The most specific connection wins: an instance under a path beats the
// same host's root.
func TestTheLongestInstancePathWins(t *testing.T) {
	cs := []Connection{{Name: "root", URL: "https://h.example"}, {Name: "sub", URL: "https://h.example/gitlab"}}
	ref, _ := ParseJobRef("https://h.example/gitlab/group/app/-/jobs/9")
	if c, err := Resolve(&ref, cs, ""); err != nil || c.Name != "sub" || ref.Project != "group/app" {
		t.Errorf("got %v %q %v; want sub, group/app", c, ref.Project, err)
	}
}

func TestGeneratedNamesAreReadableValidAndNew(t *testing.T) {
	name := GenerateName(civ1alpha1.ActionRetry, "group/My_Service.API", 123)
	if !regexp.MustCompile(`^retry-my-service-api-123-[a-z0-9]{5}$`).MatchString(name) {
		t.Errorf("GenerateName = %q", name)
	}
	long := GenerateName(civ1alpha1.ActionErase, "g/"+strings.Repeat("very-long-project-name-", 10), 9223372036854775807)
	if errs := validation.IsDNS1123Label(long); len(errs) > 0 {
		t.Errorf("%q is not a valid name: %v", long, errs)
	}
	if a, b := GenerateName(civ1alpha1.ActionPlay, "g/app", 1), GenerateName(civ1alpha1.ActionPlay, "g/app", 1); a == b {
		t.Errorf("two requests got the same name %q: the second would be taken as the first, done once", a)
	}
}

func TestVariablesFromFlags(t *testing.T) {
	vars, err := ParseVariables([]string{"REASON=hotfix=1"}, []string{"KEY=deploy-secrets/deploy-key"})
	if err != nil || len(vars) != 2 || vars[0].Value != "hotfix=1" ||
		vars[1].ValueFrom == nil || vars[1].ValueFrom.SecretKeyRef.Name != "deploy-secrets" || vars[1].ValueFrom.SecretKeyRef.Key != "deploy-key" {
		t.Fatalf("ParseVariables = %+v, %v", vars, err)
	}
	for _, bad := range [][2][]string{
		{{"NOVALUE"}, nil}, {{"BAD-KEY=x"}, nil}, {{"A=1", "A=2"}, nil}, {nil, {"K=secret"}}, {nil, {"K=/key"}}, {{"A=1"}, {"A=s/k"}},
	} {
		if _, err := ParseVariables(bad[0], bad[1]); err == nil {
			t.Errorf("ParseVariables(%v, %v) accepted", bad[0], bad[1])
		}
	}
}
