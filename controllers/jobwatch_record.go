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

package controllers

import (
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// This file is how a JobWatch records what it did: the answer to each action
// in status (counters per rule, the last actions), one event per job acted
// on, and metrics.

// maxRecentActions bounds status.recentActions.
const maxRecentActions = 20

// recordAnswer records the answer to an action (or the job GitLab shows it
// made, when adopted) and removes the action from pending.
func (s *syncer) recordAnswer(ruleName string, action civ1alpha1.ActionType, job gitlab.Job, result *gitlab.Job, err error, outcome civ1alpha1.ActionOutcome) {
	s.dropPending(job.ID)
	if action == civ1alpha1.ActionRetry {
		// Retried (or refused because it already was): a late or
		// duplicate delivery about this attempt has nothing left to ask.
		s.memory.settle(job.ID)
	}
	counters := ruleStatus(&s.jw.Status, ruleName)
	rec := civ1alpha1.ActionRecord{Rule: ruleName, Action: action, JobID: job.ID, JobName: truncate(job.Name, 255), Outcome: outcome}
	if err != nil {
		rec.Outcome = civ1alpha1.OutcomeRefused
		rec.Message = truncate(gitlabFailure(err, fmt.Sprintf("job %d", job.ID)).Message, 256)
		counters.Refused++
	} else {
		counters.Acted++
		if result != nil {
			rec.ResultJobID = result.ID
		}
	}
	s.push(rec)
}

// recordDryRun records what would have been done.
func (s *syncer) recordDryRun(rule *policy.Rule, job gitlab.Job) {
	s.push(civ1alpha1.ActionRecord{Rule: rule.Name(), Action: rule.Action(), JobID: job.ID, JobName: truncate(job.Name, 255),
		Outcome: civ1alpha1.OutcomeDryRun})
}

// push adds a record to recentActions (newest first, bounded), counts it,
// and announces it with one event about its job.
func (s *syncer) push(rec civ1alpha1.ActionRecord) {
	st := &s.jw.Status
	rec.Time = metav1.NewTime(s.now)
	st.RecentActions = append([]civ1alpha1.ActionRecord{rec}, st.RecentActions...)
	if len(st.RecentActions) > maxRecentActions {
		st.RecentActions = st.RecentActions[:maxRecentActions]
	}
	if rec.Outcome != civ1alpha1.OutcomeRefused {
		st.TotalActions++
	}
	watchActionsTotal.WithLabelValues(s.jw.Namespace, s.jw.Name, rec.Rule, string(rec.Action), string(rec.Outcome)).Inc()
	what := fmt.Sprintf("%s job %d (%s)", rec.Action, rec.JobID, rec.JobName)
	eventType, note := corev1.EventTypeNormal, fmt.Sprintf("Rule %s: %s", rec.Rule, what)
	switch rec.Outcome {
	case civ1alpha1.OutcomeRefused:
		eventType = corev1.EventTypeWarning
		note = fmt.Sprintf("Rule %s: GitLab refused to %s: %s", rec.Rule, what, rec.Message)
	case civ1alpha1.OutcomeDryRun:
		note = fmt.Sprintf("Rule %s (dry run): would %s", rec.Rule, what)
	case civ1alpha1.OutcomeAdopted:
		note = fmt.Sprintf("Rule %s: %s had already happened (its answer was lost); recorded, not repeated", rec.Rule, what)
	}
	if rec.ResultJobID != 0 && rec.ResultJobID != rec.JobID {
		note += fmt.Sprintf("; new job %d", rec.ResultJobID)
	}
	s.report.event(eventType, string(rec.Outcome)+string(rec.Action), string(rec.Action), note, gitlabJobRef(rec.JobID))
}

// gitlabJobRef names a GitLab job as an event's related object. Events about
// one watch that share a reason are folded into one series unless their
// related object differs: with it, each job acted on keeps its own event in
// kubectl events.
func gitlabJobRef(jobID int64) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "GitLabJob", Name: strconv.FormatInt(jobID, 10)}
}

// recordedDryRun says a dry run already recorded this rule on this job, so a
// job that stays in the scan window is not reported at every sync.
func (s *syncer) recordedDryRun(rule string, jobID int64) bool {
	return slices.ContainsFunc(s.jw.Status.RecentActions, func(r civ1alpha1.ActionRecord) bool {
		return r.Outcome == civ1alpha1.OutcomeDryRun && r.Rule == rule && r.JobID == jobID
	})
}

// warnVariables reports a Play rule whose variables cannot be read (a missing
// Secret); the job stays open and is tried again at the next sync.
func (s *syncer) warnVariables(rule *policy.Rule, job gitlab.Job, err error) {
	re := asReconcileError(err)
	s.report.event(corev1.EventTypeWarning, re.Reason, string(rule.Action()),
		fmt.Sprintf("Rule %s cannot play job %d yet: %s", rule.Name(), job.ID, re.Message), gitlabJobRef(job.ID))
}

// syncRules keeps status.rules in step with the spec's rules, in order,
// keeping the counters of rules that remain.
func syncRules(st *civ1alpha1.JobWatchStatus, pol *policy.Policy) {
	rules := make([]civ1alpha1.RuleStatus, 0, len(pol.Rules()))
	for _, r := range pol.Rules() {
		rs := civ1alpha1.RuleStatus{Name: r.Name()}
		if i := slices.IndexFunc(st.Rules, func(x civ1alpha1.RuleStatus) bool { return x.Name == r.Name() }); i >= 0 {
			rs = st.Rules[i]
		}
		rules = append(rules, rs)
	}
	st.Rules = rules
	st.RuleCount = int32(len(rules))
}

// ruleStatus returns the counters of the named rule.
func ruleStatus(st *civ1alpha1.JobWatchStatus, name string) *civ1alpha1.RuleStatus {
	for i := range st.Rules {
		if st.Rules[i].Name == name {
			return &st.Rules[i]
		}
	}
	st.Rules = append(st.Rules, civ1alpha1.RuleStatus{Name: name})
	return &st.Rules[len(st.Rules)-1]
}
