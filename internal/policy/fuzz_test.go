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
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// FuzzCompileMatch feeds arbitrary patterns, globs and jobs through the whole
// package: Compile may refuse, but nothing may panic, and what it returns must
// be consistent. The seed corpus runs under plain go test.
func FuzzCompileMatch(f *testing.F) {
	f.Add("(?i)connection reset", "rspec*", "release/*", "docker", "rspec 1/4", "main", "failed", "runner_system_failure", "docker", int64(60), int64(100), uint8(0), "log: connection RESET")
	f.Add("a**", "[", "[a-", "", "", "", "", "", "", int64(-1), int64(0), uint8(1), "")
	f.Add("(a)(b", `\`, "[^]", "x", "deploy-a", "v1", "manual", "", "", int64(0), int64(-5), uint8(2), "")
	f.Add(`x\`, "[z-a]", "*", "a", "[", "*", "running", "", "a", int64(315360000), int64(1<<62), uint8(3), "\xff")
	f.Add("\xff(", "\xff", "[\xff]", "\xff", "\xff", "\xff", "canceling", "x", "", int64(9223372036854775807), int64(0), uint8(7), "")
	f.Add("x{1001}", "a[b-]", "a[]", "t", "aaaa", "b", "success", "", "t", int64(1), int64(-1), uint8(4), "x")
	f.Fuzz(func(t *testing.T, logPattern, nameGlob, refGlob, tag, jobName, jobRef, status, reason, jobTag string, minAge, id int64, flags uint8, log string) {
		actions := []v1alpha1.ActionType{v1alpha1.ActionRetry, v1alpha1.ActionPlay, v1alpha1.ActionCancel, v1alpha1.ActionErase}
		action := actions[flags%4]
		rule := v1alpha1.WatchRule{
			Name:   "fuzz",
			Action: action,
			Match: v1alpha1.RuleMatch{
				Names: []string{nameGlob}, Refs: []string{refGlob}, LogPattern: logPattern,
				MinAgeSeconds: minAge, IncludeBridges: flags&8 != 0,
			},
			Retry: &v1alpha1.RetryPolicy{MaxRetries: int32(flags), Backoff: &v1alpha1.Backoff{InitialSeconds: int32(id), Factor: int32(flags), MaxSeconds: int32(minAge)}},
		}
		if tag != "" {
			rule.Match.Tags = []string{tag}
		}
		if flags&16 != 0 {
			rule.Match.Statuses = []v1alpha1.JobStatus{v1alpha1.JobStatus(status)}
		}
		if flags&32 != 0 {
			rule.Match.FailureReasons = []string{reason}
		}
		p, err := Compile([]v1alpha1.WatchRule{rule, {Name: "fallback", Action: v1alpha1.ActionErase}})
		if err != nil {
			var pe *InvalidPatternError
			var re *RuleError
			switch {
			case errors.As(err, &pe):
				if pe.Offset < 0 || pe.Offset > len(logPattern) || pe.Rule != "fuzz" {
					t.Fatalf("bad InvalidPatternError %+v for %q", pe, logPattern)
				}
			case errors.As(err, &re):
			default:
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if !strings.Contains(err.Error(), `"fuzz"`) {
				t.Fatalf("error %q does not name the rule", err)
			}
			return
		}
		now := time.Unix(id, 0)
		created := time.Unix(id-minAge, 0)
		job := gitlab.Job{
			ID: id, PipelineID: 1, Name: jobName, Ref: jobRef, Status: status, FailureReason: reason,
			Tags: []string{jobTag}, CreatedAt: &created, StartedAt: &created, FinishedAt: &created,
			Bridge: flags&64 != 0,
		}
		if flags&128 != 0 {
			job.CreatedAt, job.StartedAt, job.FinishedAt, job.ErasedAt = nil, nil, &now, &now
		}
		reads := 0
		r, err := p.Resolve(job, now, func() ([]byte, error) { reads++; return []byte(log), nil })
		if err != nil || reads > 1 {
			t.Fatalf("Resolve: %v after %d reads", err, reads)
		}
		if r != nil && r.Action() == v1alpha1.ActionErase && job.ErasedAt != nil {
			t.Fatal("an erased job matched an Erase rule")
		}
		if r != nil && job.Bridge && r.Action() == v1alpha1.ActionErase {
			t.Fatal("a bridge matched an Erase rule")
		}
		p.RevisitAt(job, now)
		for _, rr := range p.Rules() {
			d := RetryDecision(rr, []gitlab.Job{job, {ID: id ^ int64(flags), PipelineID: 1, Name: jobName}}, job, now, JitterFor(log))
			if d.Verdict < RetryNow || d.Verdict > SkipSuperseded || d.Backoff < 0 {
				t.Fatalf("bad decision %+v", d)
			}
		}
	})
}

// FuzzGlobAgreesWithPathMatch proves the glob translation accepts exactly
// path.Match's syntax and, on names without '/', matches exactly as path.Match
// does (with '/', * and ? deliberately go further).
func FuzzGlobAgreesWithPathMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"rspec*", "rspec 1"}, {"deploy-?", "deploy-a"}, {"[ab]*", "beta"}, {"[^ab]*", "beta"},
		{`\[x\]`, "[x]"}, {"[a-", "a"}, {"[]a]", "]"}, {"[z-a]", "m"}, {"[^z-a]", "m"},
		{`[\-]`, "-"}, {"*?*", "é"}, {"[é-ü]", "ö"}, {"a[", "a"}, {"\\", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) || strings.Contains(name, "/") {
			return
		}
		want, perr := path.Match(pattern, name)
		g, err := compileGlob(pattern)
		if (perr != nil) != (err != nil) {
			t.Fatalf("pattern %q: path.Match error %v, compileGlob error %v", pattern, perr, err)
		}
		if err != nil {
			return
		}
		if got := g.match(name); got != want {
			t.Fatalf("pattern %q on %q: got %v, path.Match %v", pattern, name, got, want)
		}
	})
}
