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
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// maxRecentActions bounds status.recentActions.
const maxRecentActions = 20

// act records the queued actions as pending, writes that to the API server,
// and only then calls GitLab for each.
func (s *syncer) act(ctx context.Context) error {
	if len(s.queued) == 0 {
		return nil
	}
	st := &s.jw.Status
	for _, q := range s.queued {
		st.PendingActions = append(st.PendingActions, civ1alpha1.PendingAction{Rule: q.rule.Name(), Action: q.rule.Action(),
			JobID: q.job.ID, JobName: truncate(q.job.Name, 255), PipelineID: q.job.PipelineID, Bridge: q.job.Bridge})
	}
	if err := s.w.write(ctx, s.jw, jobWatchStatus); err != nil {
		return err
	}
	for _, q := range s.queued {
		result, err := perform(ctx, s.gl, s.project, q.rule.Action(), q.job.ID, q.vars, q.rule.Force())
		if err != nil && !gitlab.IsTerminal(err) {
			// The answer may be lost: the action stays pending, and the next
			// sync asks GitLab whether it happened.
			return gitlabFailure(err, fmt.Sprintf("job %d of project %s", q.job.ID, s.project))
		}
		s.settle(q.rule.Name(), q.rule.Action(), q.job, result, err, civ1alpha1.OutcomeSucceeded)
	}
	return nil
}

// resumePending finishes the actions a previous sync recorded but did not see
// answered: it asks GitLab whether each happened, and calls only if not. An
// action whose rule was removed, or whose watch is now a dry run, is dropped.
func (s *syncer) resumePending(ctx context.Context) error {
	for _, p := range slices.Clone(s.jw.Status.PendingActions) {
		job := gitlab.Job{ID: p.JobID, Name: p.JobName, PipelineID: p.PipelineID, Bridge: p.Bridge}
		target := &civ1alpha1.JobSummary{ID: p.JobID, Name: p.JobName, PipelineID: p.PipelineID, Bridge: p.Bridge}
		done, err := happened(ctx, s.gl, s.project, p.Action, target)
		rule := s.pol.Rule(p.Rule)
		if err == nil && done == nil && (rule == nil || rule.Action() != p.Action || s.jw.Spec.DryRun) {
			// Not done, and the spec no longer asks for it: drop it, uncalled.
			logf.FromContext(ctx).Info("Dropping a pending action the spec no longer asks for", "rule", p.Rule, "job", p.JobID)
			s.dropPending(p.JobID)
			continue
		}
		switch {
		case err != nil && gitlab.IsTerminal(err):
			s.settle(p.Rule, p.Action, job, nil, err, civ1alpha1.OutcomeSucceeded)
			continue
		case err != nil:
			return gitlabFailure(err, fmt.Sprintf("job %d of project %s", p.JobID, s.project))
		case done != nil:
			logf.FromContext(ctx).Info("Adopting an action GitLab already performed", "rule", p.Rule, "job", p.JobID, "resultJob", done.ID)
			s.settle(p.Rule, p.Action, job, done, nil, civ1alpha1.OutcomeAdopted)
			continue
		}
		vars, err := s.variableValues(ctx, s.jw.Namespace, rule.Variables())
		if err != nil {
			return err
		}
		result, err := perform(ctx, s.gl, s.project, p.Action, p.JobID, vars, rule.Force())
		if err != nil && !gitlab.IsTerminal(err) {
			return gitlabFailure(err, fmt.Sprintf("job %d of project %s", p.JobID, s.project))
		}
		s.settle(p.Rule, p.Action, job, result, err, civ1alpha1.OutcomeSucceeded)
	}
	return nil
}

// settle records the answer to a pending action and removes it from pending.
func (s *syncer) settle(ruleName string, action civ1alpha1.ActionType, job gitlab.Job, result *gitlab.Job, err error, outcome civ1alpha1.ActionOutcome) {
	s.dropPending(job.ID)
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
// and announces it with one event.
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
	watchActionsTotal.WithLabelValues(rec.Rule, string(rec.Action), string(rec.Outcome)).Inc()
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
	reason := string(rec.Outcome) + string(rec.Action)
	s.Recorder.Eventf(s.jw, nil, eventType, reason, string(rec.Action), "%s", note)
}

// recordedDryRun says a dry run already recorded this rule on this job, so a
// job that stays in the scan window is not reported at every sync.
func (s *syncer) recordedDryRun(rule string, jobID int64) bool {
	return slices.ContainsFunc(s.jw.Status.RecentActions, func(r civ1alpha1.ActionRecord) bool {
		return r.Outcome == civ1alpha1.OutcomeDryRun && r.Rule == rule && r.JobID == jobID
	})
}

// warnOnce reports a Play rule whose variables cannot be read (a missing
// Secret); the job stays open and is tried again at the next sync.
func (s *syncer) warnOnce(rule *policy.Rule, job gitlab.Job, err error) {
	reason, message := "VariablesUnavailable", err.Error()
	if se := asStepError(err); se != nil {
		reason, message = se.Reason, se.Message
	}
	s.Recorder.Eventf(s.jw, nil, corev1.EventTypeWarning, reason, string(rule.Action()),
		"Rule %s cannot play job %d yet: %s", rule.Name(), job.ID, message)
}

func (s *syncer) dropPending(jobID int64) {
	st := &s.jw.Status
	st.PendingActions = slices.DeleteFunc(st.PendingActions, func(p civ1alpha1.PendingAction) bool { return p.JobID == jobID })
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
