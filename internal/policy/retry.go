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
	"fmt"
	"math"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// Verdict is what RetryDecision decided about one failed job attempt.
type Verdict int

const (
	// RetryNow means retry the job now: it is the newest attempt, the budget
	// has room and the backoff has elapsed.
	RetryNow Verdict = iota + 1
	// Wait means the backoff has not elapsed: retry at Decision.NotBefore, in a
	// later sync. The job must stay open in the scan cursor until then.
	Wait
	// SkipBudget means the job name already had maxRetries retries in its
	// pipeline (counted from GitLab's attempts), so it is not retried.
	SkipBudget
	// SkipSuperseded means a newer attempt of the job exists (retried by a
	// person, GitLab, or this operator before a crash), so retrying this one
	// would make a second retry for one failure.
	SkipSuperseded
)

// String names the verdict for logs and events.
func (v Verdict) String() string {
	switch v {
	case RetryNow:
		return "RetryNow"
	case Wait:
		return "Wait"
	case SkipBudget:
		return "SkipBudget"
	case SkipSuperseded:
		return "SkipSuperseded"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Decision is RetryDecision's answer, with the figures behind it so the
// controller can explain it in status and events.
type Decision struct {
	// Verdict is what to do.
	Verdict Verdict
	// NotBefore is when the backoff ends: set for Wait, and for RetryNow when
	// a backoff applied (zero otherwise).
	NotBefore time.Time
	// Backoff is the wait, jitter included, before this retry (zero without a
	// backoff policy).
	Backoff time.Duration
	// RetriesUsed is how many retries the job name already had in its
	// pipeline: its attempts minus one.
	RetriesUsed int
	// MaxRetries is the rule's budget.
	MaxRetries int
	// NewerJobID is the newest attempt's id, for SkipSuperseded.
	NewerJobID int64
}

// MaxJitter is the upper bound (exclusive) of the jitter fraction that
// RetryDecision adds to a backoff (Phase is the same hash over a whole
// interval).
const MaxJitter = 0.1

// RetryDecision decides whether to retry job, a failed attempt a Retry rule
// matched, given attempts: every attempt of the job's name in its pipeline,
// as GitLab lists them with include_retried, in any order (job itself may be
// among them or not; attempts of other names or pipelines are ignored).
//
// GitLab is the source of truth, so the budget holds across operator
// restarts, re-created watches and retries made by people: retries used =
// attempts - 1. The checks, in order:
//  1. a newer attempt (higher id) exists: SkipSuperseded, whatever the budget;
//  2. retries used >= the rule's maxRetries: SkipBudget;
//  3. with retry.backoff set, the wait before retry n (n = retries used) is
//     min(initialSeconds * factor^n, maxSeconds) seconds times (1 + jitter),
//     from the attempt's finished_at (or started_at, or created_at if GitLab
//     has not set it, and no wait if it has none): Wait until then, else
//     RetryNow. Without retry.backoff there is no wait: GitLab's own retry:
//     keyword does not wait either, and the API default of 30s applies only
//     when a backoff is written.
//
// jitter is a fraction in [0, MaxJitter) chosen by the caller (JitterFor of
// the job id, so every sync and restart computes the same time); values
// outside are clamped. rule must be a Retry rule; for any other rule, or nil,
// the budget is zero and the verdict SkipBudget.
func RetryDecision(rule *Rule, attempts []gitlab.Job, job gitlab.Job, now time.Time, jitter float64) Decision {
	seen := map[int64]bool{job.ID: true}
	var newer int64
	for _, a := range attempts {
		if a.PipelineID != job.PipelineID || a.Name != job.Name || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		if a.ID > job.ID && a.ID > newer {
			newer = a.ID
		}
	}
	return RetryDecisionByCount(rule, len(seen)-1, newer, job, now, jitter)
}

// RetryDecisionByCount is RetryDecision when the attempts are known only by
// their count: retriesUsed earlier attempts of the job's name in its
// pipeline, and newerJobID the newest later one (0 when none is known).
// A Job Hook gives exactly this (retries_count), so a webhook event can be
// decided without reading the pipeline.
func RetryDecisionByCount(rule *Rule, retriesUsed int, newerJobID int64, job gitlab.Job, now time.Time, jitter float64) Decision {
	d := Decision{RetriesUsed: max(retriesUsed, 0), NewerJobID: newerJobID}
	if rule != nil {
		d.MaxRetries = rule.maxRetries
	}
	switch {
	case d.NewerJobID != 0:
		d.Verdict = SkipSuperseded
		return d
	case d.RetriesUsed >= d.MaxRetries:
		d.Verdict = SkipBudget
		return d
	}
	d.Verdict = RetryNow
	if rule.backoff == nil {
		return d
	}
	from := job.FinishedAt
	if from == nil {
		from = job.StartedAt
	}
	if from == nil {
		from = job.CreatedAt
	}
	if from == nil {
		return d
	}
	b := rule.backoff
	d.Backoff = jittered(BackoffSeconds(int64(b.InitialSeconds), int64(b.Factor), int64(b.MaxSeconds), d.RetriesUsed), jitter)
	d.NotBefore = from.Add(d.Backoff)
	if now.Before(d.NotBefore) {
		d.Verdict = Wait
	}
	return d
}

// BackoffSeconds is min(initial * factor^n, max), computed without
// overflow however large n or factor: it stops multiplying once the cap is
// reached. Negative inputs count as 0 (a factor below 1 as 1).
func BackoffSeconds(initial, factor, maxSeconds int64, n int) int64 {
	initial, maxSeconds = max(initial, 0), max(maxSeconds, 0)
	factor = max(factor, 1)
	w := min(initial, maxSeconds)
	if w == 0 || factor == 1 {
		return w
	}
	for range n {
		if w > maxSeconds/factor {
			return maxSeconds
		}
		w *= factor
	}
	return min(w, maxSeconds)
}

// jittered turns seconds into a duration stretched by (1 + jitter), jitter
// clamped to [0, MaxJitter), saturating rather than overflowing. The result is
// at most a tenth longer than seconds (float rounding may reach the tenth).
func jittered(seconds int64, jitter float64) time.Duration {
	if !(jitter >= 0) { // also NaN
		jitter = 0
	}
	if jitter >= MaxJitter {
		jitter = math.Nextafter(MaxJitter, 0)
	}
	ns := float64(seconds) * float64(time.Second) * (1 + jitter)
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
