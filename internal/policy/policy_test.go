/*
Copyright 2026 The gitlab-job-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package policy

import (
	"errors"
	"path"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// failedJob is a finished, failed build: created at t0, started 10s later,
// finished at t0+1m.
func failedJob() gitlab.Job {
	return gitlab.Job{
		ID: 100, PipelineID: 7, Name: "rspec 1/4", Stage: "test", Ref: "main",
		Status: "failed", FailureReason: "runner_system_failure",
		Tags:      []string{"docker", "linux"},
		CreatedAt: at(0), StartedAt: at(10 * time.Second), FinishedAt: at(time.Minute),
	}
}

func with(j gitlab.Job, f func(*gitlab.Job)) gitlab.Job { f(&j); return j }

func mustCompile(t *testing.T, rules ...v1alpha1.WatchRule) *Policy {
	t.Helper()
	p, err := Compile(rules)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func ruleOf(action v1alpha1.ActionType, m v1alpha1.RuleMatch) v1alpha1.WatchRule {
	return v1alpha1.WatchRule{Name: "r", Action: action, Match: m}
}

func statuses(s ...string) []v1alpha1.JobStatus {
	out := make([]v1alpha1.JobStatus, len(s))
	for i := range s {
		out[i] = v1alpha1.JobStatus(s[i])
	}
	return out
}

func matchName(p *Policy, j gitlab.Job, now time.Time) string {
	r, _ := p.Match(j, now)
	if r == nil {
		return ""
	}
	return r.Name()
}

func TestEmptyStatusesTakeTheActionsDefaults(t *testing.T) {
	all := []string{"created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending", "running",
		"success", "failed", "canceling", "canceled", "skipped", "manual", "scheduled"}
	want := map[v1alpha1.ActionType][]string{
		v1alpha1.ActionRetry:  {"failed"},
		v1alpha1.ActionPlay:   {"manual"},
		v1alpha1.ActionCancel: {"pending", "running"},
		v1alpha1.ActionErase:  {"success", "failed", "canceled"},
	}
	for action, matching := range want {
		p := mustCompile(t, ruleOf(action, v1alpha1.RuleMatch{}))
		for _, s := range all {
			j := with(failedJob(), func(j *gitlab.Job) {
				j.Status = s
				if s != "failed" {
					j.FailureReason = ""
				}
			})
			got := matchName(p, j, t0.Add(time.Hour)) != ""
			exp := false
			for _, m := range matching {
				exp = exp || m == s
			}
			if got != exp {
				t.Errorf("%s rule, job %s: matched=%v, want %v", action, s, got, exp)
			}
		}
		if got := p.Rules()[0].Statuses(); strings.Join(got, ",") != strings.Join(matching, ",") {
			t.Errorf("%s: Statuses() = %v, want %v", action, got, matching)
		}
	}
}

func TestEveryMatchFieldSelectsAndRejects(t *testing.T) {
	now := t0.Add(time.Hour)
	base := failedJob()
	tests := []struct {
		name string
		m    v1alpha1.RuleMatch
		job  gitlab.Job
		want bool
	}{
		{"empty match takes failed", v1alpha1.RuleMatch{}, base, true},
		{"status listed", v1alpha1.RuleMatch{Statuses: statuses("canceled", "failed")}, base, true},
		{"status not listed", v1alpha1.RuleMatch{Statuses: statuses("canceled", "success")}, base, false},

		{"failure reason any-of", v1alpha1.RuleMatch{FailureReasons: []string{"stuck_or_timeout_failure", "runner_system_failure"}}, base, true},
		{"failure reason other", v1alpha1.RuleMatch{FailureReasons: []string{"stuck_or_timeout_failure"}}, base, false},
		{"failure reason needs failed status", v1alpha1.RuleMatch{Statuses: statuses("failed", "canceled"), FailureReasons: []string{"runner_system_failure"}},
			with(base, func(j *gitlab.Job) { j.Status = "canceled" }), false},
		{"failure reason set, job has none", v1alpha1.RuleMatch{FailureReasons: []string{"script_failure"}},
			with(base, func(j *gitlab.Job) { j.FailureReason = "" }), false},

		{"name glob star crosses slash", v1alpha1.RuleMatch{Names: []string{"rspec*"}}, base, true},
		{"name glob must match whole name", v1alpha1.RuleMatch{Names: []string{"spec*"}}, base, false},
		{"name any of globs", v1alpha1.RuleMatch{Names: []string{"lint", "rspec ?/4"}}, base, true},
		{"name exact", v1alpha1.RuleMatch{Names: []string{"rspec 1/4"}}, base, true},
		{"name none", v1alpha1.RuleMatch{Names: []string{"lint", "build*"}}, base, false},

		{"stage exact", v1alpha1.RuleMatch{Stages: []string{"build", "test"}}, base, true},
		{"stage is not a glob", v1alpha1.RuleMatch{Stages: []string{"t*"}}, base, false},
		{"stage is case sensitive", v1alpha1.RuleMatch{Stages: []string{"Test"}}, base, false},

		{"ref glob", v1alpha1.RuleMatch{Refs: []string{"ma?n"}}, base, true},
		{"ref glob with slash", v1alpha1.RuleMatch{Refs: []string{"release/*"}},
			with(base, func(j *gitlab.Job) { j.Ref = "release/1.2" }), true},
		{"ref star matches any branch", v1alpha1.RuleMatch{Refs: []string{"*"}},
			with(base, func(j *gitlab.Job) { j.Ref = "feature/x/y" }), true},
		{"ref other", v1alpha1.RuleMatch{Refs: []string{"release-*"}}, base, false},

		{"tags subset", v1alpha1.RuleMatch{Tags: []string{"linux"}}, base, true},
		{"tags all", v1alpha1.RuleMatch{Tags: []string{"linux", "docker"}}, base, true},
		{"tags one missing", v1alpha1.RuleMatch{Tags: []string{"docker", "gpu"}}, base, false},
		{"tags job has none", v1alpha1.RuleMatch{Tags: []string{"docker"}},
			with(base, func(j *gitlab.Job) { j.Tags = nil }), false},
		{"no tags asked, job has some", v1alpha1.RuleMatch{}, base, true},

		{"bridge excluded by default", v1alpha1.RuleMatch{}, with(base, func(j *gitlab.Job) { j.Bridge = true; j.Tags = nil }), false},
		{"bridge included", v1alpha1.RuleMatch{IncludeBridges: true}, with(base, func(j *gitlab.Job) { j.Bridge = true; j.Tags = nil }), true},
		{"includeBridges still matches builds", v1alpha1.RuleMatch{IncludeBridges: true}, base, true},
		{"bridge has no tags", v1alpha1.RuleMatch{IncludeBridges: true, Tags: []string{"docker"}},
			with(base, func(j *gitlab.Job) { j.Bridge = true; j.Tags = nil }), false},

		{"all fields together", v1alpha1.RuleMatch{
			Statuses: statuses("failed"), FailureReasons: []string{"runner_system_failure"}, Names: []string{"rspec*"},
			Stages: []string{"test"}, Refs: []string{"main"}, Tags: []string{"docker"}, MinAgeSeconds: 3600,
		}, base, true},
		{"all fields but one", v1alpha1.RuleMatch{
			Statuses: statuses("failed"), FailureReasons: []string{"runner_system_failure"}, Names: []string{"rspec*"},
			Stages: []string{"test"}, Refs: []string{"main"}, Tags: []string{"docker"}, MinAgeSeconds: 3601,
		}, base, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, ruleOf(v1alpha1.ActionRetry, tc.m))
			if got := matchName(p, tc.job, now) != ""; got != tc.want {
				t.Fatalf("matched=%v, want %v", got, tc.want)
			}
		})
	}
}

func TestGlobs(t *testing.T) {
	tests := []struct {
		glob  string
		name  string
		match bool
	}{
		{"rspec*", "rspec", true},
		{"rspec*", "rspec 3/4", true},
		{"rspec*", "unit rspec", false},
		{"deploy-?", "deploy-a", true},
		{"deploy-?", "deploy-é", true},
		{"deploy-?", "deploy-", false},
		{"deploy-?", "deploy-ab", false},
		{"[ab]*", "alpha", true},
		{"[ab]*", "beta", true},
		{"[ab]*", "gamma", false},
		{"[ab]*", "", false},
		{"[^ab]*", "gamma", true},
		{"[^ab]*", "alpha", false},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[z-a]x", "zx", false}, // an empty range matches nothing, as in path.Match
		{"[^z-a]x", "zx", true},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`[\]]`, "]", true},
		{"a.b", "a.b", true},
		{"a.b", "axb", false}, // no regexp leaks through
		{"(x)", "(x)", true},
		{"*", "", true},
		{"a*b*c", "a/b/c", true},
	}
	for _, tc := range tests {
		g, err := compileGlob(tc.glob)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tc.glob, err)
		}
		if got := g.match(tc.name); got != tc.match {
			t.Errorf("glob %q on %q = %v, want %v", tc.glob, tc.name, got, tc.match)
		}
	}
}

func TestBadGlobIsAnErrorNamingRuleAndField(t *testing.T) {
	for _, bad := range []string{"[", "[a-", `deploy\`, "[]", "[^]", "a[b-]"} {
		for _, field := range []string{"names", "refs"} {
			m := v1alpha1.RuleMatch{}
			list := []string{"ok*", bad}
			if field == "names" {
				m.Names = list
			} else {
				m.Refs = list
			}
			_, err := Compile([]v1alpha1.WatchRule{
				{Name: "first", Action: v1alpha1.ActionRetry},
				{Name: "flaky", Action: v1alpha1.ActionRetry, Match: m},
			})
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("glob %q in %s: err = %v, want *RuleError", bad, field, err)
			}
			if re.Rule != "flaky" || re.Field != "match."+field+"[1]" || re.Value != bad || !errors.Is(err, path.ErrBadPattern) {
				t.Errorf("glob %q: got %+v", bad, re)
			}
			if msg := err.Error(); !strings.Contains(msg, `rule "flaky"`) || !strings.Contains(msg, "match."+field+"[1]") {
				t.Errorf("message %q does not name the rule and field", msg)
			}
		}
	}
}

func TestMinAgeCountsFromTheActionsMoment(t *testing.T) {
	const age = 300
	tests := []struct {
		name   string
		action v1alpha1.ActionType
		job    gitlab.Job
		now    time.Time
		want   bool
	}{
		// Retry and Play count from created_at.
		{"retry just old enough", v1alpha1.ActionRetry, failedJob(), t0.Add(age * time.Second), true},
		{"retry a nanosecond short", v1alpha1.ActionRetry, failedJob(), t0.Add(age*time.Second - 1), false},
		{"retry without created_at", v1alpha1.ActionRetry, with(failedJob(), func(j *gitlab.Job) { j.CreatedAt = nil }), t0.Add(time.Hour), false},
		{"play just old enough", v1alpha1.ActionPlay, with(failedJob(), func(j *gitlab.Job) { j.Status = "manual"; j.FailureReason = ""; j.StartedAt = nil; j.FinishedAt = nil }),
			t0.Add(age * time.Second), true},
		{"play too young", v1alpha1.ActionPlay, with(failedJob(), func(j *gitlab.Job) { j.Status = "manual"; j.FailureReason = "" }),
			t0.Add(age*time.Second - time.Millisecond), false},

		// Cancel counts from started_at, else created_at.
		{"cancel running, from started", v1alpha1.ActionCancel, with(failedJob(), func(j *gitlab.Job) { j.Status = "running"; j.FinishedAt = nil }),
			t0.Add(10*time.Second + age*time.Second), true},
		{"cancel running, created old enough but started too recently", v1alpha1.ActionCancel,
			with(failedJob(), func(j *gitlab.Job) { j.Status = "running"; j.FinishedAt = nil }),
			t0.Add(age * time.Second), false},
		{"cancel pending, from created", v1alpha1.ActionCancel, with(failedJob(), func(j *gitlab.Job) { j.Status = "pending"; j.StartedAt = nil; j.FinishedAt = nil }),
			t0.Add(age * time.Second), true},
		{"cancel pending too young", v1alpha1.ActionCancel, with(failedJob(), func(j *gitlab.Job) { j.Status = "pending"; j.StartedAt = nil; j.FinishedAt = nil }),
			t0.Add(age*time.Second - time.Second), false},
		{"cancel with no times", v1alpha1.ActionCancel, with(failedJob(), func(j *gitlab.Job) {
			j.Status = "pending"
			j.CreatedAt, j.StartedAt, j.FinishedAt = nil, nil, nil
		}), t0.Add(time.Hour), false},

		// Erase counts from finished_at.
		{"erase just old enough", v1alpha1.ActionErase, failedJob(), t0.Add(time.Minute + age*time.Second), true},
		{"erase created long ago but finished recently", v1alpha1.ActionErase, failedJob(), t0.Add(age * time.Second), false},
		{"erase without finished_at", v1alpha1.ActionErase, with(failedJob(), func(j *gitlab.Job) { j.FinishedAt = nil }), t0.Add(time.Hour * 24), false},

		{"clock skew: created in the future", v1alpha1.ActionRetry, failedJob(), t0.Add(-time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, ruleOf(tc.action, v1alpha1.RuleMatch{MinAgeSeconds: age}))
			if got := matchName(p, tc.job, tc.now) != ""; got != tc.want {
				t.Fatalf("matched=%v, want %v", got, tc.want)
			}
		})
	}
}

func TestZeroMinAgeNeedsNoTimes(t *testing.T) {
	p := mustCompile(t, ruleOf(v1alpha1.ActionErase, v1alpha1.RuleMatch{}))
	j := with(failedJob(), func(j *gitlab.Job) { j.CreatedAt, j.StartedAt, j.FinishedAt = nil, nil, nil })
	if matchName(p, j, t0) == "" {
		t.Fatal("a rule without minAgeSeconds must not need timestamps")
	}
}

func TestRevisitAtSaysWhenAgeWillAllowAMatch(t *testing.T) {
	p := mustCompile(t,
		v1alpha1.WatchRule{Name: "erase-old", Action: v1alpha1.ActionErase, Match: v1alpha1.RuleMatch{MinAgeSeconds: 3600}},
		v1alpha1.WatchRule{Name: "erase-older", Action: v1alpha1.ActionErase, Match: v1alpha1.RuleMatch{MinAgeSeconds: 7200}},
	)
	j := failedJob()
	when, ok := p.RevisitAt(j, t0.Add(2*time.Minute))
	if !ok || !when.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Fatalf("RevisitAt = %v, %v; want finished_at+1h", when, ok)
	}
	if when, ok := p.RevisitAt(j, t0.Add(90*time.Minute)); !ok || !when.Equal(t0.Add(time.Minute+2*time.Hour)) {
		t.Errorf("once the first rule is old enough, RevisitAt = %v, %v; want the second rule's time", when, ok)
	}
	if _, ok := p.RevisitAt(j, t0.Add(3*time.Hour)); ok {
		t.Error("every rule is old enough: nothing to wait for")
	}
	if _, ok := p.RevisitAt(with(j, func(j *gitlab.Job) { j.Name = "x"; j.ErasedAt = at(time.Hour) }), t0); ok {
		t.Error("an erased job will never match; nothing to revisit")
	}
	if _, ok := p.RevisitAt(with(j, func(j *gitlab.Job) { j.Status = "running"; j.FinishedAt = nil }), t0); ok {
		t.Error("a running job does not fit an Erase rule")
	}
}

func TestEraseNeverMatchesErasedJobsOrBridges(t *testing.T) {
	p := mustCompile(t, ruleOf(v1alpha1.ActionErase, v1alpha1.RuleMatch{IncludeBridges: true}))
	if p.NeedsBridges() {
		t.Error("an Erase rule can never act on a bridge, so it must not make the controller list them")
	}
	if matchName(p, failedJob(), t0) == "" {
		t.Fatal("a finished build must match")
	}
	if matchName(p, with(failedJob(), func(j *gitlab.Job) { j.ErasedAt = at(2 * time.Minute) }), t0) != "" {
		t.Error("an erased job matched: erasing it again would be refused")
	}
	if matchName(p, with(failedJob(), func(j *gitlab.Job) { j.Bridge = true }), t0) != "" {
		t.Error("a bridge matched an Erase rule")
	}
}

func TestErasedJobsStillMatchOtherActions(t *testing.T) {
	p := mustCompile(t, ruleOf(v1alpha1.ActionRetry, v1alpha1.RuleMatch{}))
	if matchName(p, with(failedJob(), func(j *gitlab.Job) { j.ErasedAt = at(2 * time.Minute) }), t0) == "" {
		t.Error("an erased failed job can still be retried")
	}
}

func TestCancelForceAlsoMatchesCanceling(t *testing.T) {
	canceling := with(failedJob(), func(j *gitlab.Job) { j.Status = "canceling"; j.FailureReason = ""; j.FinishedAt = nil })
	plain := mustCompile(t, ruleOf(v1alpha1.ActionCancel, v1alpha1.RuleMatch{Statuses: statuses("running")}))
	if matchName(plain, canceling, t0) != "" {
		t.Error("a Cancel rule without force matched a job that is already canceling")
	}
	if plain.Rules()[0].Force() {
		t.Error("Force() without cancel.force")
	}
	forced := mustCompile(t, v1alpha1.WatchRule{Name: "f", Action: v1alpha1.ActionCancel,
		Match: v1alpha1.RuleMatch{Statuses: statuses("running")}, Cancel: &v1alpha1.CancelPolicy{Force: true}})
	if matchName(forced, canceling, t0) == "" {
		t.Error("a forced Cancel rule must match a job stuck in canceling")
	}
	if !forced.Rules()[0].Force() {
		t.Error("Force() lost")
	}
}

func TestBridgesForPlayAndRetry(t *testing.T) {
	bridge := gitlab.Job{ID: 5, PipelineID: 7, Name: "trigger-downstream", Status: "manual", Bridge: true, CreatedAt: at(0)}
	off := mustCompile(t, ruleOf(v1alpha1.ActionPlay, v1alpha1.RuleMatch{}))
	on := mustCompile(t, ruleOf(v1alpha1.ActionPlay, v1alpha1.RuleMatch{IncludeBridges: true}))
	if off.NeedsBridges() || !on.NeedsBridges() {
		t.Errorf("NeedsBridges: off=%v on=%v", off.NeedsBridges(), on.NeedsBridges())
	}
	if matchName(off, bridge, t0) != "" {
		t.Error("bridge matched without includeBridges")
	}
	if matchName(on, bridge, t0) == "" {
		t.Error("bridge not matched with includeBridges")
	}
}

func TestPlayOnlyManualOrScheduled(t *testing.T) {
	p := mustCompile(t, ruleOf(v1alpha1.ActionPlay, v1alpha1.RuleMatch{Statuses: statuses("manual", "scheduled")}))
	for _, s := range []string{"manual", "scheduled", "pending", "success", "running"} {
		j := gitlab.Job{ID: 1, Status: s, CreatedAt: at(0)}
		want := s == "manual" || s == "scheduled"
		if got := matchName(p, j, t0) != ""; got != want {
			t.Errorf("play %s: matched=%v", s, got)
		}
	}
}

func TestFirstMatchingRuleWins(t *testing.T) {
	p := mustCompile(t,
		v1alpha1.WatchRule{Name: "infra", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{FailureReasons: []string{"runner_system_failure"}}},
		v1alpha1.WatchRule{Name: "any-failed", Action: v1alpha1.ActionRetry},
		v1alpha1.WatchRule{Name: "erase", Action: v1alpha1.ActionErase},
	)
	if got := matchName(p, failedJob(), t0); got != "infra" {
		t.Errorf("got %q, want infra", got)
	}
	script := with(failedJob(), func(j *gitlab.Job) { j.FailureReason = "script_failure" })
	if got := matchName(p, script, t0); got != "any-failed" {
		t.Errorf("got %q, want any-failed", got)
	}
	ok := with(failedJob(), func(j *gitlab.Job) { j.Status = "success"; j.FailureReason = "" })
	if got := matchName(p, ok, t0); got != "erase" {
		t.Errorf("got %q, want erase", got)
	}
	if got := matchName(p, with(ok, func(j *gitlab.Job) { j.Status = "running" }), t0); got != "" {
		t.Errorf("running job matched %q", got)
	}
}

func TestLogPatternFallsThroughAndReadsTheLogOnce(t *testing.T) {
	p := mustCompile(t,
		v1alpha1.WatchRule{Name: "network", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{LogPattern: `(?i)connection reset by peer`}},
		v1alpha1.WatchRule{Name: "oom", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{LogPattern: `signal: killed|OOMKilled`}},
		v1alpha1.WatchRule{Name: "runner", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{FailureReasons: []string{"runner_system_failure"}}},
		v1alpha1.WatchRule{Name: "erase", Action: v1alpha1.ActionErase},
	)
	if !p.NeedsLog() {
		t.Fatal("NeedsLog false with log patterns")
	}
	tests := []struct {
		name  string
		job   gitlab.Job
		log   string
		want  string
		reads int
	}{
		{"first pattern", failedJob(), "fetch: Connection Reset By Peer\n", "network", 1},
		{"second pattern", failedJob(), "make: signal: killed", "oom", 1},
		{"no pattern, falls to a rule without one", failedJob(), "assertion failed", "runner", 1},
		{"no pattern and no other retry rule: erase", with(failedJob(), func(j *gitlab.Job) { j.FailureReason = "script_failure" }), "assertion failed", "erase", 1},
		{"no rule needs the log", with(failedJob(), func(j *gitlab.Job) { j.Status = "success"; j.FailureReason = "" }), "", "erase", 0},
		{"nothing matches", with(failedJob(), func(j *gitlab.Job) { j.Status = "running"; j.FailureReason = "" }), "", "", 0},
		{"empty log", failedJob(), "", "runner", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reads := 0
			r, err := p.Resolve(tc.job, t0, func() ([]byte, error) { reads++; return []byte(tc.log), nil })
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if r != nil {
				got = r.Name()
			}
			if got != tc.want || reads != tc.reads {
				t.Fatalf("rule %q after %d log reads, want %q after %d", got, reads, tc.want, tc.reads)
			}
		})
	}

	// The same walk by hand, as a controller that wants to check the retry
	// budget before reading the log would do it.
	r, needsLog := p.Match(failedJob(), t0)
	if r.Name() != "network" || !needsLog {
		t.Fatalf("Match = %v, %v", r.Name(), needsLog)
	}
	if r.MatchLog([]byte("assertion failed")) {
		t.Fatal("pattern matched the wrong log")
	}
	r, needsLog = p.MatchFrom(failedJob(), t0, r.Index()+1)
	if r.Name() != "oom" || !needsLog {
		t.Fatalf("MatchFrom = %v, %v", r.Name(), needsLog)
	}
	r, needsLog = p.MatchFrom(failedJob(), t0, r.Index()+1)
	if r.Name() != "runner" || needsLog || !r.MatchLog(nil) {
		t.Fatalf("MatchFrom = %v, %v", r.Name(), needsLog)
	}
	if r, _ := p.MatchFrom(failedJob(), t0, 99); r != nil {
		t.Error("MatchFrom past the end")
	}
	if r, _ := p.MatchFrom(failedJob(), t0, -3); r == nil || r.Name() != "network" {
		t.Error("MatchFrom with a negative start must start at the first rule")
	}
}

func TestResolveReturnsLogErrorsWithoutFallingThrough(t *testing.T) {
	p := mustCompile(t,
		v1alpha1.WatchRule{Name: "network", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{LogPattern: `reset`}},
		v1alpha1.WatchRule{Name: "erase", Action: v1alpha1.ActionErase},
	)
	boom := errors.New("429")
	r, err := p.Resolve(failedJob(), t0, func() ([]byte, error) { return nil, boom })
	if r != nil || !errors.Is(err, boom) {
		t.Fatalf("Resolve = %v, %v; want no rule and the log error", r, err)
	}
}

func TestInvalidLogPatternNamesRuleAndOffset(t *testing.T) {
	tests := []struct {
		pattern string
		offset  int
		code    syntax.ErrorCode
	}{
		{"a**", 1, syntax.ErrInvalidRepeatOp},
		{"error: (timeout", 7, syntax.ErrMissingParen},
		{"(a)(b", 3, syntax.ErrMissingParen},
		{"((a)", 0, syntax.ErrMissingParen},
		{"a)b", 1, syntax.ErrUnexpectedParen},
		{"(a))(b)", 3, syntax.ErrUnexpectedParen},
		{`reset\`, 5, syntax.ErrTrailingBackslash},
		{`x\qy`, 1, syntax.ErrInvalidEscape},
		{"ok [a-z", 3, syntax.ErrMissingBracket},
		{"abc[z-a]", 4, syntax.ErrInvalidCharRange},
		{"*x", 0, syntax.ErrMissingRepeatArgument},
		{"x|*", 2, syntax.ErrMissingRepeatArgument},
		{"x{1001}", 1, syntax.ErrInvalidRepeatSize},
		{"ab(?z)", 2, syntax.ErrInvalidPerlOp},
		{"(?P<>a)", 0, syntax.ErrInvalidNamedCapture},
		// The offending piece occurs earlier in a valid place: the offset
		// must be the failing one, not the first occurrence.
		{`a\q` + `|` + `\\q\q`, 1, syntax.ErrInvalidEscape},
		{`\\q|\q`, 4, syntax.ErrInvalidEscape},
		{"a{2}|b{2}{2}", 6, syntax.ErrInvalidRepeatOp},
		{"\xffabc", 0, syntax.ErrInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			_, err := Compile([]v1alpha1.WatchRule{
				{Name: "ok", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{LogPattern: "fine"}},
				{Name: "net-errors", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{LogPattern: tc.pattern}},
			})
			var pe *InvalidPatternError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *InvalidPatternError", err)
			}
			var se *syntax.Error
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("syntax error = %v, want code %q", se, tc.code)
			}
			if pe.Rule != "net-errors" || pe.Pattern != tc.pattern || pe.Offset != tc.offset {
				t.Fatalf("got rule %q pattern %q offset %d, want net-errors %q %d", pe.Rule, pe.Pattern, pe.Offset, tc.pattern, tc.offset)
			}
			msg := err.Error()
			for _, want := range []string{`rule "net-errors"`, "offset " + strconv.Itoa(tc.offset), tc.code.String()} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
		})
	}
}

func TestCompileRefusesWhatAdmissionRefuses(t *testing.T) {
	tests := []struct {
		name  string
		rules []v1alpha1.WatchRule
		field string
	}{
		{"unknown action", []v1alpha1.WatchRule{{Name: "x", Action: "Delete"}}, "action"},
		{"retry of running jobs", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{Statuses: statuses("failed", "running")}}}, "match.statuses[1]"},
		{"play of a pending job", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionPlay, Match: v1alpha1.RuleMatch{Statuses: statuses("pending")}}}, "match.statuses[0]"},
		{"cancel of a finished job", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionCancel, Match: v1alpha1.RuleMatch{Statuses: statuses("success")}}}, "match.statuses[0]"},
		{"erase of a running job", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionErase, Match: v1alpha1.RuleMatch{Statuses: statuses("running")}}}, "match.statuses[0]"},
		{"failure reasons without failed", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionRetry, Match: v1alpha1.RuleMatch{Statuses: statuses("canceled"), FailureReasons: []string{"script_failure"}}}}, "match.failureReasons"},
		{"failure reasons on a play rule", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionPlay, Match: v1alpha1.RuleMatch{FailureReasons: []string{"script_failure"}}}}, "match.failureReasons"},
		{"negative age", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionErase, Match: v1alpha1.RuleMatch{MinAgeSeconds: -1}}}, "match.minAgeSeconds"},
		{"duplicate names", []v1alpha1.WatchRule{{Name: "x", Action: v1alpha1.ActionErase}, {Name: "x", Action: v1alpha1.ActionRetry}}, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.rules)
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != "x" || re.Field != tc.field {
				t.Fatalf("err = %#v, want *RuleError for rule x field %s", err, tc.field)
			}
		})
	}
}

func TestRuleAccessors(t *testing.T) {
	vars := []v1alpha1.PlayVariable{{Key: "ENV", Value: "prod"}, {Key: "TOKEN", ValueFrom: &v1alpha1.VariableSource{SecretKeyRef: v1alpha1.SecretKeySelector{Name: "s", Key: "k"}}}}
	p := mustCompile(t,
		v1alpha1.WatchRule{Name: "retry-default", Action: v1alpha1.ActionRetry},
		v1alpha1.WatchRule{Name: "retry-5", Action: v1alpha1.ActionRetry, Retry: &v1alpha1.RetryPolicy{MaxRetries: 5}},
		v1alpha1.WatchRule{Name: "deploy", Action: v1alpha1.ActionPlay, Play: &v1alpha1.PlayPolicy{Variables: vars}},
	)
	rs := p.Rules()
	if len(rs) != 3 || rs[0].Name() != "retry-default" || rs[2].Index() != 2 || rs[2].Action() != v1alpha1.ActionPlay {
		t.Fatalf("rules: %v", rs)
	}
	if rs[0].MaxRetries() != DefaultMaxRetries || rs[1].MaxRetries() != 5 || rs[2].MaxRetries() != 0 {
		t.Errorf("MaxRetries: %d %d %d", rs[0].MaxRetries(), rs[1].MaxRetries(), rs[2].MaxRetries())
	}
	got := rs[2].Variables()
	if len(got) != 2 || got[0].Value != "prod" || got[1].ValueFrom == nil {
		t.Errorf("Variables = %+v", got)
	}
	got[0].Value = "changed"
	if rs[2].Variables()[0].Value != "prod" {
		t.Error("Variables shares its slice with the caller")
	}
	vars[0].Value = "changed"
	if rs[2].Variables()[0].Value != "prod" {
		t.Error("the compiled rule shares its slice with the spec")
	}
	if p.Rule("deploy") != rs[2] || p.Rule("nope") != nil {
		t.Error("Rule by name")
	}
	if rs[0].HasLogPattern() || p.NeedsLog() || p.NeedsBridges() {
		t.Error("no log pattern or bridges here")
	}
	empty := mustCompile(t)
	if r, _ := empty.Match(failedJob(), t0); r != nil {
		t.Error("an empty policy matched")
	}
}

func TestAgeRulesSplitBetweenTheSweepAndTheHistoryWalks(t *testing.T) {
	p := mustCompile(t,
		v1alpha1.WatchRule{Name: "stuck", Action: v1alpha1.ActionCancel, Match: v1alpha1.RuleMatch{MinAgeSeconds: 900}},
		v1alpha1.WatchRule{Name: "old-manual", Action: v1alpha1.ActionCancel,
			Match: v1alpha1.RuleMatch{Statuses: []v1alpha1.JobStatus{"manual", "running"}, MinAgeSeconds: 7 * 86400}},
		v1alpha1.WatchRule{Name: "retention", Action: v1alpha1.ActionErase, Match: v1alpha1.RuleMatch{MinAgeSeconds: 30 * 86400}},
		v1alpha1.WatchRule{Name: "failed-logs", Action: v1alpha1.ActionErase,
			Match: v1alpha1.RuleMatch{Statuses: []v1alpha1.JobStatus{"failed"}, MinAgeSeconds: 7 * 86400}},
		v1alpha1.WatchRule{Name: "infra", Action: v1alpha1.ActionRetry})
	week, month := 7*24*time.Hour, 30*24*time.Hour
	if got := p.HistoryAges(); !slices.Equal(got, []time.Duration{week, month}) {
		t.Errorf("HistoryAges = %v, want a week and a month (the 15-minute rule matches only transient statuses)", got)
	}
	statuses, every := p.OpenSweep()
	if !slices.Equal(statuses, []string{"pending", "running"}) || every != 15*time.Minute {
		t.Errorf("OpenSweep = %v every %s, want pending and running every 15m", statuses, every)
	}

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failed := gitlab.Job{ID: 1, Status: "failed", FinishedAt: &t0, CreatedAt: &t0}
	if at, ok := p.RevisitAtForAge(failed, t0.Add(time.Hour), week); !ok || !at.Equal(t0.Add(week)) {
		t.Errorf("the week's walk waits for a failed job until %s, %v; want a week after it finished", at, ok)
	}
	if at, ok := p.RevisitAtForAge(failed, t0.Add(8*24*time.Hour), month); !ok || !at.Equal(t0.Add(month)) {
		t.Errorf("the month's walk waits until %s, %v; want a month after", at, ok)
	}
	if _, ok := p.RevisitAtForAge(failed, t0.Add(8*24*time.Hour), week); ok {
		t.Error("a week-old failed job is old enough for the week's walk, which must not wait")
	}
	running := gitlab.Job{ID: 2, Status: "running", StartedAt: &t0, CreatedAt: &t0}
	if _, ok := p.RevisitAtForAge(running, t0, week); ok {
		t.Error("a running job is the sweep's: no history walk waits for it")
	}
	if none := mustCompile(t, v1alpha1.WatchRule{Name: "infra", Action: v1alpha1.ActionRetry}); len(none.HistoryAges()) != 0 {
		t.Error("a watch without age rules has no history walk")
	} else if s, _ := none.OpenSweep(); s != nil {
		t.Error("a watch without age rules has no sweep")
	}
}
