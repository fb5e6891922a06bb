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
	"math"
	"testing"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

func retryRule(t *testing.T, rp *v1alpha1.RetryPolicy) *Rule {
	t.Helper()
	return mustCompile(t, v1alpha1.WatchRule{Name: "flaky", Action: v1alpha1.ActionRetry, Retry: rp}).Rules()[0]
}

// attempt is an older (retried) attempt of failedJob's name in its pipeline.
func attempt(id int64, user string) gitlab.Job {
	j := failedJob()
	j.ID, j.UserName = id, user
	return j
}

func TestRetryBudgetCountsGitLabsAttempts(t *testing.T) {
	job := failedJob() // id 100
	tests := []struct {
		name     string
		max      int32
		attempts []gitlab.Job
		verdict  Verdict
		used     int
	}{
		{"first failure, job not listed", 2, nil, RetryNow, 0},
		{"first failure, job listed", 2, []gitlab.Job{job}, RetryNow, 0},
		{"one retry used", 2, []gitlab.Job{job, attempt(90, "jobops")}, RetryNow, 1},
		{"budget spent", 2, []gitlab.Job{attempt(80, "jobops"), job, attempt(90, "jobops")}, SkipBudget, 2},
		{"more than the budget (maxRetries lowered)", 2, []gitlab.Job{attempt(70, ""), attempt(80, ""), attempt(90, ""), job}, SkipBudget, 3},
		{"human retries count", 2, []gitlab.Job{attempt(80, "alice"), attempt(90, "bob")}, SkipBudget, 2},
		{"budget of one, used", 1, []gitlab.Job{attempt(90, "alice")}, SkipBudget, 1},
		{"budget of five, four used", 5, []gitlab.Job{attempt(60, ""), attempt(70, ""), attempt(80, ""), attempt(90, "")}, RetryNow, 4},
		{"duplicates counted once", 2, []gitlab.Job{attempt(90, ""), attempt(90, ""), job, job}, RetryNow, 1},
		{"other names and pipelines ignored", 2, []gitlab.Job{
			with(attempt(90, ""), func(j *gitlab.Job) { j.Name = "lint" }),
			with(attempt(91, ""), func(j *gitlab.Job) { j.PipelineID = 8 }),
			with(attempt(95, ""), func(j *gitlab.Job) { j.PipelineID = 8; j.Name = "x" }),
		}, RetryNow, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := RetryDecision(retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: tc.max}), tc.attempts, job, t0.Add(time.Hour), 0)
			if d.Verdict != tc.verdict || d.RetriesUsed != tc.used || d.MaxRetries != int(tc.max) {
				t.Fatalf("got %v used %d max %d, want %v used %d max %d", d.Verdict, d.RetriesUsed, d.MaxRetries, tc.verdict, tc.used, tc.max)
			}
		})
	}
}

func TestRetryWithoutPolicyAllowsTwo(t *testing.T) {
	r := retryRule(t, nil)
	job := failedJob()
	if d := RetryDecision(r, []gitlab.Job{attempt(90, "")}, job, t0, 0); d.Verdict != RetryNow || d.MaxRetries != 2 {
		t.Fatalf("one retry used: %+v", d)
	}
	if d := RetryDecision(r, []gitlab.Job{attempt(80, ""), attempt(90, "")}, job, t0, 0); d.Verdict != SkipBudget {
		t.Fatalf("two retries used: %+v", d)
	}
}

func TestNeverRetryASupersededAttempt(t *testing.T) {
	job := failedJob()
	r := retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: 10})
	tests := []struct {
		name     string
		attempts []gitlab.Job
		newer    int64
	}{
		{"newer attempt pending", []gitlab.Job{job, with(attempt(120, "jobops"), func(j *gitlab.Job) { j.Status = "pending" })}, 120},
		{"newer attempt by a person, unsorted", []gitlab.Job{attempt(130, "alice"), attempt(90, ""), job, attempt(110, "")}, 130},
		{"newer attempt failed too", []gitlab.Job{attempt(101, "")}, 101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := RetryDecision(r, tc.attempts, job, t0.Add(time.Hour), 0)
			if d.Verdict != SkipSuperseded || d.NewerJobID != tc.newer {
				t.Fatalf("got %v newer %d, want SkipSuperseded newer %d", d.Verdict, d.NewerJobID, tc.newer)
			}
		})
	}
	// Superseded wins over budget: the newer attempt is the one to judge.
	tight := retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: 1})
	if d := RetryDecision(tight, []gitlab.Job{attempt(90, ""), attempt(110, "")}, job, t0, 0); d.Verdict != SkipSuperseded {
		t.Fatalf("got %v", d.Verdict)
	}
}

func TestBackoffSeconds(t *testing.T) {
	tests := []struct {
		initial, factor, max int64
		n                    int
		want                 int64
	}{
		{30, 2, 3600, 0, 30},
		{30, 2, 3600, 1, 60},
		{30, 2, 3600, 2, 120},
		{30, 2, 3600, 6, 1920},
		{30, 2, 3600, 7, 3600}, // 3840 capped
		{30, 2, 3600, 100, 3600},
		{30, 1, 3600, 50, 30},
		{10, 3, 100, 2, 90},
		{10, 3, 90, 2, 90}, // exactly at the cap
		{10, 3, 89, 2, 89},
		{0, 2, 3600, 5, 0},
		{100, 2, 50, 0, 50}, // max below initial caps even the first wait
		{1, 10, 86400, 4, 10000},
		{1, 10, 86400, 5, 86400},
		{86400, 10, 86400, 20, 86400},
		{math.MaxInt32, 10, math.MaxInt32, 1000, math.MaxInt32},
		{7, 10, math.MaxInt64, 1 << 20, math.MaxInt64}, // factor^n overflows int64 long before
		{-5, -3, -1, 3, 0},
		{30, 0, 3600, 3, 30}, // factor below 1 counts as 1
	}
	for _, tc := range tests {
		if got := BackoffSeconds(tc.initial, tc.factor, tc.max, tc.n); got != tc.want {
			t.Errorf("BackoffSeconds(%d, %d, %d, %d) = %d, want %d", tc.initial, tc.factor, tc.max, tc.n, got, tc.want)
		}
	}
}

func TestBackoffIsMeasuredFromTheFailedAttemptsFinish(t *testing.T) {
	r := retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: 20, Backoff: &v1alpha1.Backoff{InitialSeconds: 30, Factor: 2, MaxSeconds: 3600}})
	job := failedJob() // finished at t0+1m
	fin := t0.Add(time.Minute)
	older := []gitlab.Job{attempt(90, "")} // one retry used: wait 60s
	tests := []struct {
		name     string
		attempts []gitlab.Job
		job      gitlab.Job
		now      time.Time
		jitter   float64
		verdict  Verdict
		wait     time.Duration
	}{
		{"first retry waits initial", nil, job, fin.Add(29 * time.Second), 0, Wait, 30 * time.Second},
		{"first retry at exactly initial", nil, job, fin.Add(30 * time.Second), 0, RetryNow, 30 * time.Second},
		{"second retry waits initial*factor", older, job, fin.Add(59 * time.Second), 0, Wait, 60 * time.Second},
		{"second retry due", older, job, fin.Add(60 * time.Second), 0, RetryNow, 60 * time.Second},
		{"jitter stretches the wait", older, job, fin.Add(62 * time.Second), 0.05, Wait, 63 * time.Second},
		{"jitter stretched wait ends", older, job, fin.Add(63 * time.Second), 0.05, RetryNow, 63 * time.Second},
		{"jitter above the bound is clamped", older, job, fin.Add(66 * time.Second), 7, RetryNow, 66 * time.Second}, // at most a tenth more (float rounding may reach it)
		{"negative jitter is clamped", older, job, fin, -1, Wait, 60 * time.Second},
		{"NaN jitter is clamped", older, job, fin, math.NaN(), Wait, 60 * time.Second},
		{"many retries hit the cap", []gitlab.Job{attempt(1, ""), attempt(2, ""), attempt(3, ""), attempt(4, ""), attempt(5, ""), attempt(6, ""), attempt(7, ""), attempt(8, "")},
			job, fin.Add(time.Hour - time.Second), 0, Wait, time.Hour},
		{"no finished_at: from started_at", nil, with(job, func(j *gitlab.Job) { j.FinishedAt = nil }), t0.Add(40 * time.Second), 0, RetryNow, 30 * time.Second},
		{"no times at all: no wait", nil, with(job, func(j *gitlab.Job) { j.CreatedAt, j.StartedAt, j.FinishedAt = nil, nil, nil }), t0, 0, RetryNow, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := RetryDecision(r, tc.attempts, tc.job, tc.now, tc.jitter)
			if d.Verdict != tc.verdict {
				t.Fatalf("verdict %v, want %v (%+v)", d.Verdict, tc.verdict, d)
			}
			if d.Backoff != tc.wait {
				t.Fatalf("backoff %v, want %v", d.Backoff, tc.wait)
			}
			if tc.wait != 0 {
				from := tc.job.FinishedAt
				if from == nil {
					from = tc.job.StartedAt
				}
				if !d.NotBefore.Equal(from.Add(tc.wait)) {
					t.Fatalf("NotBefore %v, want %v", d.NotBefore, from.Add(tc.wait))
				}
			}
		})
	}
}

func TestNoBackoffPolicyRetriesImmediately(t *testing.T) {
	r := retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: 3})
	job := failedJob()
	d := RetryDecision(r, []gitlab.Job{attempt(90, "")}, job, *job.FinishedAt, 0.09)
	if d.Verdict != RetryNow || d.Backoff != 0 || !d.NotBefore.IsZero() {
		t.Fatalf("got %+v", d)
	}
}

func TestBackoffWithLargestValuesDoesNotOverflow(t *testing.T) {
	r := retryRule(t, &v1alpha1.RetryPolicy{MaxRetries: 20, Backoff: &v1alpha1.Backoff{InitialSeconds: 86400, Factor: 10, MaxSeconds: 86400}})
	var attempts []gitlab.Job
	for i := range 19 {
		attempts = append(attempts, attempt(int64(i+1), ""))
	}
	d := RetryDecision(r, attempts, failedJob(), t0, math.Nextafter(MaxJitter, 0))
	if d.Verdict != Wait || d.Backoff <= 24*time.Hour || d.Backoff > 24*time.Hour*11/10 {
		t.Fatalf("got %+v", d)
	}
}

func TestRetryDecisionOnARuleThatIsNotRetry(t *testing.T) {
	erase := mustCompile(t, v1alpha1.WatchRule{Name: "e", Action: v1alpha1.ActionErase}).Rules()[0]
	if d := RetryDecision(erase, nil, failedJob(), t0, 0); d.Verdict != SkipBudget {
		t.Fatalf("got %v", d.Verdict)
	}
	if d := RetryDecision(nil, nil, failedJob(), t0, 0); d.Verdict != SkipBudget {
		t.Fatalf("nil rule: got %v", d.Verdict)
	}
}

func TestVerdictString(t *testing.T) {
	for v, s := range map[Verdict]string{RetryNow: "RetryNow", Wait: "Wait", SkipBudget: "SkipBudget", SkipSuperseded: "SkipSuperseded", 0: "Verdict(0)"} {
		if v.String() != s {
			t.Errorf("%d: %q", int(v), v.String())
		}
	}
}
