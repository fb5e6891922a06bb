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

// Package policy decides, without any I/O, what a JobWatch does to a job:
// which rule matches it, whether its log must be read, whether a retry is
// due, within budget, or must wait for its backoff, and when to sync next.
//
// The controller does the I/O and asks this package to decide, so the rules
// that keep the operator exactly-once and cheap on the API can be tested
// exhaustively in plain unit tests. A typical pass over one job:
//
//	p, err := policy.Compile(spec.Rules) // once per generation; an
//	                                     // *InvalidPatternError means Stalled/InvalidLogPattern
//	rule, err := p.Resolve(job, now, func() ([]byte, error) {
//		return client.TraceTail(ctx, project, job.ID, 64<<10) // read at most once
//	})
//	if rule == nil { ... p.RevisitAt(job, now) says whether to keep it open ... }
//	if rule.Action() == v1alpha1.ActionRetry {
//		d := policy.RetryDecision(rule, attemptsWithIncludeRetried, job, now,
//			policy.JitterFor(strconv.FormatInt(job.ID, 10)))
//		// RetryNow, Wait until d.NotBefore, SkipBudget or SkipSuperseded
//	}
//
// For a Retry rule a controller may call RetryDecision before reading the
// log, by matching with Match/MatchFrom instead of Resolve: a superseded or
// out-of-budget attempt then costs no log request. Either way the first rule
// that fully matches decides; a budget or backoff refusal is that rule's
// outcome and does not fall through to later rules.
//
// What a match excludes, so the controller never makes a call GitLab must
// refuse or a call that was already made: statuses outside what the action
// accepts (refused at Compile), erased jobs for Erase, bridges for Erase
// (they have no log or artifacts) and for any rule without includeBridges,
// canceling jobs for Cancel unless cancel.force. Retried (superseded)
// attempts are excluded by RetryDecision, which sees all attempts.
package policy
