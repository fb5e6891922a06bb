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
	"testing"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// A webhook event carries neither the job's runner tags nor its log: a rule
// that would need either, and fits everything else, leaves the event
// undecided rather than letting a later rule take the job.
func TestMatchKnownDecidesOnlyWhatAnEventCanSay(t *testing.T) {
	retry := func(name string, m v1alpha1.RuleMatch) v1alpha1.WatchRule {
		return v1alpha1.WatchRule{Name: name, Action: v1alpha1.ActionRetry, Match: m}
	}
	event := failedJob()
	event.Tags = nil // not in a Job Hook
	now := time.Unix(0, 0).Add(time.Hour)
	tests := []struct {
		name    string
		rules   []v1alpha1.WatchRule
		rule    string
		decided bool
	}{
		{"a rule on reason, name and ref decides", []v1alpha1.WatchRule{retry("infra", v1alpha1.RuleMatch{
			FailureReasons: []string{"runner_system_failure"}, Names: []string{"rspec*"}, Refs: []string{"main"}})}, "infra", true},
		{"no rule fits: decided, nothing to do", []v1alpha1.WatchRule{retry("infra", v1alpha1.RuleMatch{
			FailureReasons: []string{"script_failure"}})}, "", true},
		{"a fitting rule with tags cannot be decided", []v1alpha1.WatchRule{retry("docker", v1alpha1.RuleMatch{Tags: []string{"docker"}})}, "", false},
		{"nor one with a log pattern", []v1alpha1.WatchRule{retry("net", v1alpha1.RuleMatch{LogPattern: "reset"})}, "", false},
		{"an undecidable rule first keeps a later one from taking the job", []v1alpha1.WatchRule{
			retry("net", v1alpha1.RuleMatch{LogPattern: "reset"}), retry("all", v1alpha1.RuleMatch{})}, "", false},
		{"a rule with tags that does not fit otherwise is passed over", []v1alpha1.WatchRule{
			retry("arm", v1alpha1.RuleMatch{Tags: []string{"arm64"}, Names: []string{"build"}}), retry("all", v1alpha1.RuleMatch{})}, "all", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, decided := mustCompile(t, tt.rules...).MatchKnown(event, now)
			if decided != tt.decided {
				t.Fatalf("decided = %v, want %v", decided, tt.decided)
			}
			got := ""
			if rule != nil {
				got = rule.Name()
			}
			if got != tt.rule {
				t.Fatalf("rule = %q, want %q", got, tt.rule)
			}
		})
	}
}

// A Job Hook's retries_count is the budget spent: deciding by count gives
// what deciding by the listed attempts gives.
func TestRetryDecisionByCountAgreesWithAttempts(t *testing.T) {
	job := failedJob()
	now := job.FinishedAt.Add(time.Minute)
	for _, max := range []int32{1, 2, 3} {
		rule := retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: max, Backoff: &v1alpha1.Backoff{InitialSeconds: 30, Factor: 2, MaxSeconds: 600}})
		var attempts []gitlab.Job
		for used := range 4 {
			byAttempts := RetryDecision(rule, attempts, job, now, 0.05)
			byCount := RetryDecisionByCount(rule, used, 0, job, now, 0.05)
			if byAttempts != byCount {
				t.Fatalf("max %d, %d used: by attempts %+v, by count %+v", max, used, byAttempts, byCount)
			}
			attempts = append(attempts, attempt(int64(90-used), ""))
		}
	}
	if d := RetryDecisionByCount(retryRule(t, nil), 0, job.ID+1, job, now, 0); d.Verdict != SkipSuperseded {
		t.Fatalf("with a newer attempt known, verdict %s, want SkipSuperseded", d.Verdict)
	}
}
