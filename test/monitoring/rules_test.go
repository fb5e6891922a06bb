package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/jobops-dev/gitlab-job-operator/internal/testenv"
)

var (
	root       = testenv.RepoRoot()
	rulesFile  = filepath.Join(root, "config", "prometheus", "alerts.yaml")
	rulesTests = filepath.Join(root, "config", "prometheus", "alerts_test.yaml")
	dashboard  = filepath.Join(root, "config", "grafana", "gitlab-job-operator.json")
)

// ruleFile is a Prometheus rule file, as much of it as the tests read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rf
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := testenv.Tool("PROMTOOL", "promtool")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(rulesFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAlertRulesPassPromtool(t *testing.T) {
	promtool(t, "check", "rules", filepath.Base(rulesFile))
	promtool(t, "test", "rules", filepath.Base(rulesTests))
}

// Every alert has a promtool case where it fires and one where it stays
// quiet: an alert that cannot fire, or that fires on a healthy operator, is
// caught before it pages anyone.
func TestEveryAlertHasFiringAndQuietCases(t *testing.T) {
	raw, err := os.ReadFile(rulesTests)
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(raw, &tests); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] {
				t.Errorf("alert %s: no case in %s where it fires", r.Alert, filepath.Base(rulesTests))
			}
			if !quiet[r.Alert] {
				t.Errorf("alert %s: no case in %s where it stays quiet", r.Alert, filepath.Base(rulesTests))
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerts read")
	}
}

// Every alert links to its own runbook section in docs/operations.md.
func TestEveryAlertHasARunbookSection(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	const base = "https://github.com/jobops-dev/gitlab-job-operator/blob/main/docs/operations.md#"
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, base)
			if !ok || anchor != strings.ToLower(r.Alert) {
				t.Errorf("alert %s: runbook_url %q, want %s%s", r.Alert, url, base, strings.ToLower(r.Alert))
			}
			if !anchors[anchor] {
				t.Errorf("alert %s: docs/operations.md has no section %q", r.Alert, r.Alert)
			}
			for _, a := range []string{"summary", "description"} {
				if r.Annotations[a] == "" {
					t.Errorf("alert %s has no %s", r.Alert, a)
				}
			}
		}
	}
}

// githubAnchor is the fragment GitHub gives a heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case c == ' ':
			b.WriteRune('-')
		case c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			b.WriteRune(c)
		}
	}
	return b.String()
}
