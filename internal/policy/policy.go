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
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// DefaultMaxRetries is the retry budget of a Retry rule that sets no retry
// policy, as the API's default for retry.maxRetries.
const DefaultMaxRetries = 2

// defaultStatuses are the statuses a rule matches when match.statuses is
// empty: the ones a person means by "retry", "play", "cancel" or "erase" a job.
var defaultStatuses = map[v1alpha1.ActionType][]string{
	v1alpha1.ActionRetry:  {"failed"},
	v1alpha1.ActionPlay:   {"manual"},
	v1alpha1.ActionCancel: {"pending", "running"},
	v1alpha1.ActionErase:  {"success", "failed", "canceled"},
}

// actionableStatuses are the statuses in which GitLab accepts each action
// (docs/gitlab-api.md), as the API's CEL rules allow them in match.statuses. Compile
// refuses anything else, so a rule can never make a call GitLab must refuse.
var actionableStatuses = map[v1alpha1.ActionType][]string{
	v1alpha1.ActionRetry:  {"success", "failed", "canceled", "canceling"},
	v1alpha1.ActionPlay:   {"manual", "scheduled"},
	v1alpha1.ActionCancel: {"created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending", "running", "scheduled", "manual"},
	v1alpha1.ActionErase:  {"success", "failed", "canceled", "skipped"},
}

// Policy is a JobWatch's rules, compiled once per spec generation, so that
// matching a job costs no parsing and cannot fail.
type Policy struct {
	rules        []*Rule
	needsBridges bool
	needsLog     bool
}

// Rule is one compiled WatchRule. Its accessors give the controller what it
// needs to act (name, action, play variables, cancel force, retry budget)
// without going back to the spec.
type Rule struct {
	index  int
	name   string
	action v1alpha1.ActionType

	statuses       []string
	failureReasons []string
	names          []*glob
	stages         []string
	refs           []*glob
	tags           []string
	logPattern     *regexp.Regexp
	minAge         time.Duration
	includeBridges bool

	maxRetries int
	backoff    *v1alpha1.Backoff
	variables  []v1alpha1.PlayVariable
	force      bool
}

// RuleError says a rule cannot be compiled, naming the rule and the field to
// fix. (An invalid logPattern is an *InvalidPatternError instead, because it
// has its own condition reason and a position.)
type RuleError struct {
	// Rule is the rule's name (or its position, if it has none).
	Rule string
	// Field is the path of the offending field inside the rule, such as
	// match.names[2].
	Field string
	// Value is the offending value, as written.
	Value string
	// Err says what is wrong with it.
	Err error
}

// Error reads as one line for a condition message.
func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %q: %s %q: %v", e.Rule, e.Field, e.Value, e.Err)
}

// Unwrap exposes the cause, such as path.ErrBadPattern for a bad glob.
func (e *RuleError) Unwrap() error { return e.Err }

// Compile checks and compiles rules, in order. It applies the action's
// default statuses when match.statuses is empty, compiles the name and ref
// globs and the log pattern, and refuses what admission should already have
// refused (unknown action, statuses the action cannot act on, duplicate
// names, negative ages), so a spec that bypassed admission still cannot make
// the controller act wrongly. The first error is returned: an
// *InvalidPatternError for a log pattern, a *RuleError otherwise.
func Compile(rules []v1alpha1.WatchRule) (*Policy, error) {
	p := &Policy{rules: make([]*Rule, 0, len(rules))}
	seen := make(map[string]bool, len(rules))
	for i := range rules {
		r, err := compileRule(i, &rules[i])
		if err != nil {
			return nil, err
		}
		if seen[r.name] {
			return nil, &RuleError{Rule: r.name, Field: "name", Value: r.name, Err: errors.New("two rules have this name; rule names must be unique")}
		}
		seen[r.name] = true
		p.rules = append(p.rules, r)
		if r.includeBridges && r.action != v1alpha1.ActionErase {
			p.needsBridges = true
		}
		if r.logPattern != nil {
			p.needsLog = true
		}
	}
	return p, nil
}

func compileRule(i int, w *v1alpha1.WatchRule) (*Rule, error) {
	name := w.Name
	if name == "" {
		name = fmt.Sprintf("#%d", i)
	}
	bad := func(field, value string, err error) error {
		return &RuleError{Rule: name, Field: field, Value: value, Err: err}
	}
	actionable, ok := actionableStatuses[w.Action]
	if !ok {
		return nil, bad("action", string(w.Action), errors.New("must be Retry, Play, Cancel or Erase"))
	}
	r := &Rule{index: i, name: name, action: w.Action, includeBridges: w.Match.IncludeBridges}

	m := &w.Match
	if len(m.Statuses) == 0 {
		r.statuses = slices.Clone(defaultStatuses[w.Action])
	}
	for j, s := range m.Statuses {
		if !slices.Contains(actionable, string(s)) {
			return nil, bad(fmt.Sprintf("match.statuses[%d]", j), string(s),
				fmt.Errorf("a %s rule can match only statuses %v", w.Action, actionable))
		}
		r.statuses = append(r.statuses, string(s))
	}
	if w.Cancel != nil && w.Cancel.Force {
		// force exists for jobs stuck in canceling, which admission does not
		// let a user list; a forced Cancel rule therefore also matches them.
		r.force = true
		r.statuses = append(r.statuses, "canceling")
	}
	r.failureReasons = slices.Clone(m.FailureReasons)
	if len(r.failureReasons) > 0 && !slices.Contains(r.statuses, "failed") {
		return nil, bad("match.failureReasons", fmt.Sprint(m.FailureReasons),
			errors.New("needs statuses that include failed: only failed jobs have a failure reason"))
	}
	for j, g := range m.Names {
		cg, err := compileGlob(g)
		if err != nil {
			return nil, bad(fmt.Sprintf("match.names[%d]", j), g, fmt.Errorf("not a valid glob (*, ?, [...]): %w", err))
		}
		r.names = append(r.names, cg)
	}
	r.stages = slices.Clone(m.Stages)
	for j, g := range m.Refs {
		cg, err := compileGlob(g)
		if err != nil {
			return nil, bad(fmt.Sprintf("match.refs[%d]", j), g, fmt.Errorf("not a valid glob (*, ?, [...]): %w", err))
		}
		r.refs = append(r.refs, cg)
	}
	r.tags = slices.Clone(m.Tags)
	if m.LogPattern != "" {
		re, err := compileLogPattern(name, m.LogPattern)
		if err != nil {
			return nil, err
		}
		r.logPattern = re
	}
	switch {
	case m.MinAgeSeconds < 0:
		return nil, bad("match.minAgeSeconds", fmt.Sprint(m.MinAgeSeconds), errors.New("must not be negative"))
	case m.MinAgeSeconds > math.MaxInt64/int64(time.Second):
		r.minAge = math.MaxInt64 // older than any job can be
	default:
		r.minAge = time.Duration(m.MinAgeSeconds) * time.Second
	}

	if w.Action == v1alpha1.ActionRetry {
		r.maxRetries = DefaultMaxRetries
		if w.Retry != nil {
			if w.Retry.MaxRetries > 0 {
				r.maxRetries = int(w.Retry.MaxRetries)
			}
			if w.Retry.Backoff != nil {
				b := *w.Retry.Backoff
				r.backoff = &b
			}
		}
	}
	if w.Play != nil {
		r.variables = slices.Clone(w.Play.Variables)
	}
	return r, nil
}

// Rules are the compiled rules, in the spec's order (for per-rule status
// counters). The slice is the caller's to keep; the rules are shared.
func (p *Policy) Rules() []*Rule { return slices.Clone(p.rules) }

// Rule returns the rule named name, or nil; the controller uses it to
// resume a pending action recorded in status by rule name.
func (p *Policy) Rule(name string) *Rule {
	for _, r := range p.rules {
		if r.name == name {
			return r
		}
	}
	return nil
}

// NeedsBridges says whether any rule can match a bridge, so the controller
// lists a pipeline's bridges (one more request per pipeline) only when it can
// matter. Erase rules never match bridges, so they do not count.
func (p *Policy) NeedsBridges() bool { return p.needsBridges }

// NeedsLog says whether any rule has a log pattern, that is whether the
// controller may need to read job logs at all.
func (p *Policy) NeedsLog() bool { return p.needsLog }

// Match returns the first rule, in order, that fits job in everything but
// its log pattern, or nil. needsLog says that rule has a log pattern: the
// controller must read the job's log tail and call rule.MatchLog, and if it
// does not match, continue with MatchFrom(job, now, rule.Index()+1), reusing
// the same tail. Resolve does exactly this.
func (p *Policy) Match(job gitlab.Job, now time.Time) (rule *Rule, needsLog bool) {
	return p.MatchFrom(job, now, 0)
}

// MatchFrom is Match starting at the rule with index start, so that a rule
// whose log pattern did not match falls through to the next ones.
func (p *Policy) MatchFrom(job gitlab.Job, now time.Time, start int) (rule *Rule, needsLog bool) {
	for _, r := range p.rules[min(max(start, 0), len(p.rules)):] {
		if r.fits(job) && r.oldEnough(job, now) {
			return r, r.logPattern != nil
		}
	}
	return nil, false
}

// MatchKnown is Match for a job known only from a webhook event, which
// carries neither the job's runner tags nor its log. It returns the first
// rule that fits job, and decided=false when a rule that fits everything
// the event says would also need one of those: then only the job as the API
// lists it (and perhaps its log) can decide, and the caller must read it.
func (p *Policy) MatchKnown(job gitlab.Job, now time.Time) (rule *Rule, decided bool) {
	for _, r := range p.rules {
		untagged := job
		untagged.Tags = r.tags // what the event cannot say is not held against the rule
		if !r.fits(untagged) || !r.oldEnough(job, now) {
			continue
		}
		if len(r.tags) > 0 || r.logPattern != nil {
			return nil, false
		}
		return r, true
	}
	return nil, true
}

// Resolve returns the first rule that fully matches job, log pattern
// included, or nil. It calls readLog only if some rule needs the log, and at
// most once, so one job attempt costs at most one log request. An error from
// readLog is returned as is, with no rule: the decision waits for a later
// sync rather than falling through to a rule the log would not have chosen.
func (p *Policy) Resolve(job gitlab.Job, now time.Time, readLog func() ([]byte, error)) (*Rule, error) {
	return p.ResolveByVerdicts(job, now, func() (LogVerdicts, error) {
		tail, err := readLog()
		if err != nil {
			return 0, err
		}
		return p.MatchLogs(tail), nil
	})
}

// LogVerdicts says, for each rule with a log pattern, whether a log tail
// matched it (bit i for the rule with index i). A job attempt's log is final
// once the job has finished, so a controller can keep the verdicts of a
// finished job instead of its log, and never read that log again.
type LogVerdicts uint64

// Matched says whether the tail matched r's pattern (true when r has none).
func (v LogVerdicts) Matched(r *Rule) bool {
	return r.logPattern == nil || v&(1<<uint(r.index)) != 0
}

// MatchLogs matches a log tail against every rule's pattern at once.
func (p *Policy) MatchLogs(tail []byte) LogVerdicts {
	var v LogVerdicts
	for _, r := range p.rules {
		if r.logPattern != nil && r.logPattern.Match(tail) {
			v |= 1 << uint(r.index)
		}
	}
	return v
}

// ResolveByVerdicts is Resolve with the log's verdicts (MatchLogs) instead
// of the log: verdicts is called only if some rule needs the log, and at
// most once.
func (p *Policy) ResolveByVerdicts(job gitlab.Job, now time.Time, verdicts func() (LogVerdicts, error)) (*Rule, error) {
	var v LogVerdicts
	known := false
	r, needsLog := p.Match(job, now)
	for r != nil && needsLog {
		if !known {
			var err error
			if v, err = verdicts(); err != nil {
				return nil, err
			}
			known = true
		}
		if v.Matched(r) {
			return r, nil
		}
		r, needsLog = p.MatchFrom(job, now, r.index+1)
	}
	return r, nil
}

// RevisitAt says when a rule that fits job in everything but age (log
// pattern aside) becomes old enough: the earliest such time, over the rules
// that are not old enough yet. A controller that found no rule for a job
// (Resolve returned nil) keeps it open in its scan cursor, or requeues, until
// then instead of passing it by for good (an Erase rule's minAgeSeconds after
// a job finished, say); ok is false when age is not what stands in the way.
func (p *Policy) RevisitAt(job gitlab.Job, now time.Time) (at time.Time, ok bool) {
	return p.revisitAmong(job, now, func(*Rule) bool { return true })
}

// revisitAmong is RevisitAt over the rules keep accepts.
func (p *Policy) revisitAmong(job gitlab.Job, now time.Time, keep func(*Rule) bool) (at time.Time, ok bool) {
	for _, r := range p.rules {
		if !keep(r) || !r.fits(job) || r.oldEnough(job, now) {
			continue
		}
		t, known := r.oldEnoughAt(job)
		if !known {
			continue
		}
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	return at, ok
}

// Name is the rule's name, for status, events and metrics.
func (r *Rule) Name() string { return r.name }

// Index is the rule's position in the spec (0-based); MatchFrom takes it.
func (r *Rule) Index() int { return r.index }

// Action is what the rule does to the jobs it matches.
func (r *Rule) Action() v1alpha1.ActionType { return r.action }

// Statuses are the job statuses the rule matches, defaults applied (and
// canceling added for a forced Cancel rule).
func (r *Rule) Statuses() []string { return slices.Clone(r.statuses) }

// Variables are a Play rule's variables, as written: the controller resolves
// valueFrom from Secrets at call time, so no secret value lives here.
func (r *Rule) Variables() []v1alpha1.PlayVariable { return slices.Clone(r.variables) }

// Force says a Cancel rule cancels with force=true.
func (r *Rule) Force() bool { return r.force }

// MaxRetries is a Retry rule's budget: how many retries a job name may have
// in its pipeline (DefaultMaxRetries when unset); 0 for other actions.
func (r *Rule) MaxRetries() int { return r.maxRetries }

// HasLogPattern says the rule matches only jobs whose log tail matches.
func (r *Rule) HasLogPattern() bool { return r.logPattern != nil }

// MatchLog says whether the log tail matches the rule's pattern; true when
// the rule has none. The tail is the last bytes of the log (64 KiB), so a
// pattern anchored at the log's start cannot be relied on.
func (r *Rule) MatchLog(tail []byte) bool {
	return r.logPattern == nil || r.logPattern.Match(tail)
}

// fits checks everything but age and the log.
func (r *Rule) fits(job gitlab.Job) bool {
	if !slices.Contains(r.statuses, job.Status) {
		return false
	}
	if job.Bridge && (!r.includeBridges || r.action == v1alpha1.ActionErase) {
		// A bridge has no log or artifacts: erasing it can only be refused.
		return false
	}
	if r.action == v1alpha1.ActionErase && job.ErasedAt != nil {
		return false
	}
	if len(r.failureReasons) > 0 && (job.Status != "failed" || !slices.Contains(r.failureReasons, job.FailureReason)) {
		return false
	}
	if len(r.names) > 0 && !anyGlob(r.names, job.Name) {
		return false
	}
	if len(r.stages) > 0 && !slices.Contains(r.stages, job.Stage) {
		return false
	}
	if len(r.refs) > 0 && !anyGlob(r.refs, job.Ref) {
		return false
	}
	for _, t := range r.tags {
		if !slices.Contains(job.Tags, t) {
			return false
		}
	}
	return true
}

func anyGlob(gs []*glob, s string) bool {
	for _, g := range gs {
		if g.match(s) {
			return true
		}
	}
	return false
}

// ageFrom is the moment a rule's minAgeSeconds counts from, or nil when it
// has not happened yet: for Cancel since the job started (or was created, if
// it has not started), for Erase since it finished, otherwise since created.
func (r *Rule) ageFrom(job gitlab.Job) *time.Time {
	switch r.action {
	case v1alpha1.ActionCancel:
		if job.StartedAt != nil {
			return job.StartedAt
		}
		return job.CreatedAt
	case v1alpha1.ActionErase:
		return job.FinishedAt
	default:
		return job.CreatedAt
	}
}

// oldEnough says the job is at least minAge old, counting exactly minAge as
// old enough. A job whose reference time is unknown is not old enough unless
// the rule asks for no age at all; a time in the future (clock skew) is not
// old enough either.
func (r *Rule) oldEnough(job gitlab.Job, now time.Time) bool {
	if r.minAge == 0 {
		return true
	}
	from := r.ageFrom(job)
	return from != nil && now.Sub(*from) >= r.minAge
}

// oldEnoughAt is when the job becomes old enough, if its reference time is
// known.
func (r *Rule) oldEnoughAt(job gitlab.Job) (time.Time, bool) {
	from := r.ageFrom(job)
	if from == nil {
		return time.Time{}, false
	}
	return from.Add(r.minAge), true
}
