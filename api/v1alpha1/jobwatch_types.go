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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SyncRequestAnnotation asks a JobWatch to sync now when set to a new value
// (a timestamp, say): kubectl annotate jw NAME ci.jobops.dev/requested-at="$(date +%s)" --overwrite
const SyncRequestAnnotation = "ci.jobops.dev/requested-at"

// JobWatchSpec is a standing policy over one project's jobs.
type JobWatchSpec struct {
	// connectionRef names the GitLabConnection, in the same namespace, to act through.
	// +required
	ConnectionRef ConnectionReference `json:"connectionRef"`

	// project is the GitLab project: its numeric id (42, or "42"), or its full path
	// such as group/app or group/subgroup/app, as in the project's web address.
	// +required
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) != int || self >= 1",message="project must be a numeric id of 1 or more, or a full path such as group/app"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || size(self) <= 255",message="project must be at most 255 characters"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || self.matches('^([0-9]+|[a-zA-Z0-9_.][a-zA-Z0-9_.-]*(/[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)+)$')",message="project must be a numeric id or a full path such as group/app (a path, not a URL or a project name alone)"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || !self.matches('^0+$')",message="project must be a numeric id of 1 or more, or a full path such as group/app"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || !self.endsWith('.git')",message="project is a path such as group/app, without the .git of a clone URL"
	// +kubebuilder:validation:XValidation:rule="type(self) != string || !self.contains('..')",message="project must not contain '..': write the full path, such as group/app"
	Project intstr.IntOrString `json:"project"`

	// pipelineID limits the watch to one pipeline's jobs. Unset watches the whole project.
	// +optional
	// +kubebuilder:validation:Minimum=1
	PipelineID int64 `json:"pipelineID,omitempty"`

	// intervalSeconds is the time between two syncs (with jitter).
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=86400
	IntervalSeconds int32 `json:"intervalSeconds,omitempty"`

	// suspend stops syncing until it is set back to false. Nothing is lost: the next
	// sync starts where the last one stopped.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// dryRun records what would be done (status, events, metrics) and makes no
	// retry, play, cancel or erase call.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`

	// maxActionsPerSync caps the actions taken in any one interval (intervalSeconds,
	// counted from the first sync of the interval), a guard against storms: the jobs
	// held back wait for the next interval, even when a sync comes sooner (a backoff
	// ending, a sync request), and are counted as skipped by the guard.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=50
	MaxActionsPerSync int32 `json:"maxActionsPerSync,omitempty"`

	// rules are tried in order; the first rule whose match fits a job acts on it.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Rules []WatchRule `json:"rules"`
}

// WatchRule matches jobs and acts on them.
// +kubebuilder:validation:XValidation:rule="!has(self.retry) || self.action == 'Retry'",message="retry options are allowed only when action is Retry"
// +kubebuilder:validation:XValidation:rule="!has(self.play) || self.action == 'Play'",message="play options are allowed only when action is Play"
// +kubebuilder:validation:XValidation:rule="!has(self.cancel) || self.action == 'Cancel'",message="cancel options are allowed only when action is Cancel"
// +kubebuilder:validation:XValidation:rule="self.action != 'Retry' || !has(self.match.statuses) || self.match.statuses.all(s, s in ['success', 'failed', 'canceled', 'canceling'])",message="a Retry rule can match only statuses GitLab can retry: success, failed, canceled, canceling"
// +kubebuilder:validation:XValidation:rule="self.action != 'Play' || !has(self.match.statuses) || self.match.statuses.all(s, s in ['manual', 'scheduled'])",message="a Play rule can match only statuses manual and scheduled"
// +kubebuilder:validation:XValidation:rule="self.action != 'Cancel' || !has(self.match.statuses) || self.match.statuses.all(s, s in ['created', 'waiting_for_resource', 'preparing', 'waiting_for_callback', 'pending', 'running', 'scheduled', 'manual'])",message="a Cancel rule can match only statuses of jobs that have not finished"
// +kubebuilder:validation:XValidation:rule="self.action != 'Erase' || !has(self.match.statuses) || self.match.statuses.all(s, s in ['success', 'failed', 'canceled', 'skipped'])",message="an Erase rule can match only finished statuses: success, failed, canceled, skipped"
// +kubebuilder:validation:XValidation:rule="self.action != 'Erase' || !has(self.match.includeBridges) || !self.match.includeBridges",message="match.includeBridges is not allowed on an Erase rule: trigger jobs have no log or artifacts to erase"
// +kubebuilder:validation:XValidation:rule="self.action != 'Play' || !has(self.match.logPattern)",message="match.logPattern is not allowed on a Play rule: a manual job waiting to be played has no log to match"
// +kubebuilder:validation:XValidation:rule="!has(self.match.failureReasons) || (self.action == 'Retry' && (!has(self.match.statuses) || 'failed' in self.match.statuses)) || (self.action == 'Erase' && (!has(self.match.statuses) || 'failed' in self.match.statuses))",message="match.failureReasons needs a Retry or Erase rule whose statuses include failed"
type WatchRule struct {
	// name identifies the rule in status, events and metrics; unique in the watch.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// action is what to do to a matching job.
	// +required
	Action ActionType `json:"action"`

	// match selects the jobs the rule acts on. Every field set must fit; an empty
	// match takes the action's default statuses.
	// +optional
	// +kubebuilder:default={}
	Match RuleMatch `json:"match,omitempty"`

	// retry sets the retry budget and backoff of a Retry rule.
	// +optional
	Retry *RetryPolicy `json:"retry,omitempty"`

	// play sets the variables of a Play rule.
	// +optional
	Play *PlayPolicy `json:"play,omitempty"`

	// cancel sets the options of a Cancel rule.
	// +optional
	Cancel *CancelPolicy `json:"cancel,omitempty"`
}

// RuleMatch selects jobs. Every field that is set must fit; lists match any of their items.
type RuleMatch struct {
	// statuses the job must have. Defaults by action: Retry failed; Play manual;
	// Cancel pending and running; Erase success, failed and canceled.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=13
	Statuses []JobStatus `json:"statuses,omitempty"`

	// failureReasons, GitLab's failure_reason values, such as runner_system_failure or
	// stuck_or_timeout_failure; the job must have one of them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z_]+$`
	FailureReasons []string `json:"failureReasons,omitempty"`

	// names are job name globs, such as rspec* or deploy-?: * matches any run of
	// characters (slashes too, so rspec* matches "rspec 1/4"), ? one character,
	// [abc] one of a set.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Names []string `json:"names,omitempty"`

	// stages are exact stage names.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Stages []string `json:"stages,omitempty"`

	// refs are branch or tag globs, such as main, release-* or feature/* (as names).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Refs []string `json:"refs,omitempty"`

	// tags are runner tags the job must all have, such as docker.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Tags []string `json:"tags,omitempty"`

	// logPattern is an RE2 regular expression the last 64 KiB of the job's log must
	// match, such as (?i)connection reset by peer. The log is read only for jobs that
	// fit every other field, once per job attempt.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	LogPattern string `json:"logPattern,omitempty"`

	// minAgeSeconds is how old the job must be: for Cancel, since it started (or was
	// created, if it has not started); for Erase, since it finished; otherwise since created.
	// A rule with minAgeSeconds reaches the project's whole history, jobs older than the
	// watch included (status.history shows how far); a rule without one acts on the jobs
	// that are new when the watch first syncs (the newest 1,000) and after.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=315360000
	MinAgeSeconds int64 `json:"minAgeSeconds,omitempty"`

	// includeBridges also matches trigger jobs (bridges to downstream pipelines).
	// +optional
	IncludeBridges bool `json:"includeBridges,omitempty"`
}

// RetryPolicy is the budget and backoff of a Retry rule.
type RetryPolicy struct {
	// maxRetries is how many retries a job name may have in its pipeline, counted from
	// GitLab's attempts (so human retries and operator restarts count too).
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	MaxRetries int32 `json:"maxRetries,omitempty"`

	// backoff is the wait before each retry, from when the failed attempt finished.
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is an exponential wait: initialSeconds, then times factor each retry, at most maxSeconds.
// +kubebuilder:validation:XValidation:rule="self.maxSeconds >= self.initialSeconds",message="backoff.maxSeconds must be at least backoff.initialSeconds (maxSeconds defaults to 3600: set it when initialSeconds is larger)"
type Backoff struct {
	// initialSeconds is the wait before the first retry.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	InitialSeconds int32 `json:"initialSeconds"`

	// factor multiplies the wait after each retry.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Factor int32 `json:"factor"`

	// maxSeconds caps the wait.
	// +optional
	// +kubebuilder:default=3600
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	MaxSeconds int32 `json:"maxSeconds"`
}

// PlayPolicy sets the options of a Play rule.
type PlayPolicy struct {
	// variables are passed to each job the rule plays.
	// +optional
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=50
	Variables []PlayVariable `json:"variables,omitempty"`
}

// CancelPolicy sets the options of a Cancel rule.
type CancelPolicy struct {
	// force cancels jobs even if they are already canceling.
	// +optional
	Force bool `json:"force,omitempty"`
}

// ScanCursor is where the last sync stopped, so the next one reads only what is new.
type ScanCursor struct {
	// newestJobID is the newest job id the watch has seen.
	// +optional
	NewestJobID int64 `json:"newestJobID,omitempty"`

	// oldestOpenJobID is the oldest job that was not settled at the last sync (still
	// running, or waiting for a backoff); the next sync reads back to it.
	// +optional
	OldestOpenJobID int64 `json:"oldestOpenJobID,omitempty"`
}

// SyncSummary is what one sync did.
type SyncSummary struct {
	// requests is how many GitLab requests the sync made.
	Requests int32 `json:"requests"`
	// jobsScanned is how many jobs the sync read.
	JobsScanned int32 `json:"jobsScanned"`
	// candidates is how many jobs matched a rule.
	Candidates int32 `json:"candidates"`
	// actions is how many actions the sync took (or, in dry-run, would have taken).
	Actions int32 `json:"actions"`
	// durationMilliseconds is how long the sync took.
	DurationMilliseconds int64 `json:"durationMilliseconds"`
}

// RuleStatus counts what one rule did since the watch was created.
type RuleStatus struct {
	// name of the rule.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// matched counts jobs the rule matched.
	Matched int64 `json:"matched"`
	// acted counts actions GitLab accepted.
	Acted int64 `json:"acted"`
	// skippedDryRun counts actions not taken because of dryRun.
	SkippedDryRun int64 `json:"skippedDryRun"`
	// skippedBudget counts jobs not retried because their retry budget was spent.
	SkippedBudget int64 `json:"skippedBudget"`
	// skippedGuard counts actions deferred by maxActionsPerSync.
	SkippedGuard int64 `json:"skippedGuard"`
	// refused counts actions GitLab refused.
	Refused int64 `json:"refused"`
}

// ActionOutcome is how one action ended.
// +kubebuilder:validation:Enum=Succeeded;Refused;DryRun;Adopted
type ActionOutcome string

const (
	// OutcomeSucceeded means GitLab accepted the action.
	OutcomeSucceeded ActionOutcome = "Succeeded"
	// OutcomeRefused means GitLab refused it (not retryable, unplayable, ...).
	OutcomeRefused ActionOutcome = "Refused"
	// OutcomeDryRun means the action was only recorded.
	OutcomeDryRun ActionOutcome = "DryRun"
	// OutcomeAdopted means GitLab showed the action had already happened (after a lost
	// response or a crash), so it was recorded, not repeated.
	OutcomeAdopted ActionOutcome = "Adopted"
)

// ActionRecord is one action the watch took or would have taken.
type ActionRecord struct {
	// time of the action.
	Time metav1.Time `json:"time"`
	// rule that matched.
	// +kubebuilder:validation:MaxLength=63
	Rule string `json:"rule"`
	// action taken.
	Action ActionType `json:"action"`
	// jobID is the job acted on.
	JobID int64 `json:"jobID"`
	// jobName is its name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	JobName string `json:"jobName,omitempty"`
	// resultJobID is the job that resulted (for Retry, the new job).
	// +optional
	ResultJobID int64 `json:"resultJobID,omitempty"`
	// outcome of the action.
	Outcome ActionOutcome `json:"outcome"`
	// message explains a refusal.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Message string `json:"message,omitempty"`
}

// PendingAction is an action the watch decided to take and recorded before calling
// GitLab, so that after a crash it checks GitLab before calling again.
type PendingAction struct {
	// rule that matched.
	// +kubebuilder:validation:MaxLength=63
	Rule string `json:"rule"`
	// action to take.
	Action ActionType `json:"action"`
	// jobID is the job to act on.
	JobID int64 `json:"jobID"`
	// jobName is its name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	JobName string `json:"jobName,omitempty"`
	// pipelineID is its pipeline.
	// +optional
	PipelineID int64 `json:"pipelineID,omitempty"`
	// bridge is true for a trigger job.
	// +optional
	Bridge bool `json:"bridge,omitempty"`

	// claimant identifies the manager process that recorded the action.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Claimant string `json:"claimant,omitempty"`

	// claimTime is when it was recorded. Until the connection's request timeout has
	// passed since then, another process does not ask GitLab whether it happened:
	// the call may still be in flight.
	// +optional
	ClaimTime *metav1.MicroTime `json:"claimTime,omitempty"`
}

// ActionWindow counts the actions taken in the current interval, for maxActionsPerSync.
type ActionWindow struct {
	// start is when the interval began: the first sync after the previous one ended.
	Start metav1.Time `json:"start"`

	// actions is how many actions (or dry-run records) were taken since start.
	Actions int32 `json:"actions"`
}

// HistoryWalk is how far a watch has walked its project's history for its age rules of
// one minAgeSeconds. A walk reads the project's pipelines from the least recently updated,
// each once it has been quiet (its status unchanged) for minAgeSeconds, when every job in it
// is old enough for those rules, and acts on what they match; a pipeline that changes later
// (a retry) comes round again. A new walk starts from the project's oldest pipeline, a
// bounded number of requests per sync, and once caught up costs a request only when a
// pipeline comes of age.
type HistoryWalk struct {
	// minAgeSeconds is the minAgeSeconds of the rules this walk serves.
	MinAgeSeconds int64 `json:"minAgeSeconds"`

	// childPipelines is true for the walk over the project's child pipelines, which GitLab
	// lists apart from the others.
	// +optional
	ChildPipelines bool `json:"childPipelines,omitempty"`

	// rulesHash identifies the rules this walk serves. When they change, the walk starts
	// again from the oldest pipeline: the new rules may match jobs the old ones passed by.
	// +kubebuilder:validation:MaxLength=16
	RulesHash string `json:"rulesHash"`

	// reachedTime is how far the walk has come: every pipeline last updated before it, and
	// those of reachedPipelineIDs, has been visited. Unset until the first pipeline is.
	// +optional
	ReachedTime *metav1.MicroTime `json:"reachedTime,omitempty"`

	// reachedPipelineIDs are the visited pipelines last updated at reachedTime exactly.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	ReachedPipelineIDs []int64 `json:"reachedPipelineIDs,omitempty"`

	// caughtUp is true when the last step visited every pipeline quiet for minAgeSeconds:
	// the backlog is done, and the walk waits for pipelines to come of age.
	// +optional
	CaughtUp bool `json:"caughtUp,omitempty"`

	// nextTime is when the walk's next step is due: when the next pipeline will have been
	// quiet for minAgeSeconds, or when a job it waits for is old enough. Unset while the walk
	// is behind: it goes on at every sync.
	// +optional
	NextTime *metav1.Time `json:"nextTime,omitempty"`

	// pipelinesVisited counts the pipelines the walk has read.
	// +optional
	PipelinesVisited int64 `json:"pipelinesVisited,omitempty"`
}

// JobWatchStatus is what the watch saw and did, bounded in size.
type JobWatchStatus struct {
	// conditions: Ready is True when the last sync succeeded; Stalled is True when the
	// spec cannot work until someone changes it (an invalid log pattern, say).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// projectID is the project's numeric id, as GitLab answered: webhook events are
	// matched to the watch by it (or by spec.project).
	// +optional
	ProjectID int64 `json:"projectID,omitempty"`

	// lastEventTime is when the last GitLab webhook event for the project arrived
	// (before the last sync). With webhooks, polling every intervalSeconds is only a
	// safety net for lost deliveries.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`

	// lastSyncTime is when the last sync that wrote status finished. A sync that finds
	// nothing new (no job to act on, the cursors where they were) writes no status at all,
	// except every 10 minutes, so this is at most about 10 minutes older than the last sync.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// nextSyncTime is when the next sync was due as of lastSyncTime: the watch's next slot
	// (intervalSeconds apart, at a phase of its own so that watches spread over the
	// interval), or sooner when a job's backoff or age threshold ends first. The manager keeps
	// the schedule in memory and reads it from here after a restart.
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`

	// cursor is where the next sync starts reading.
	// +optional
	Cursor *ScanCursor `json:"cursor,omitempty"`

	// history is how far the walks of the age rules (minAgeSeconds) through the project's
	// history have come, one per age (and one more for child pipelines): whether each has
	// caught up with its backlog, and how far back it has reached.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	History []HistoryWalk `json:"history,omitempty"`

	// lastSync is what the last sync that wrote status did (see lastSyncTime).
	// +optional
	LastSync *SyncSummary `json:"lastSync,omitempty"`

	// actionWindow counts the actions of the current interval against maxActionsPerSync.
	// +optional
	ActionWindow *ActionWindow `json:"actionWindow,omitempty"`

	// lastHandledRequest is the value of the ci.jobops.dev/requested-at annotation
	// the last sync answered; setting the annotation to a new value asks for a sync now.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	LastHandledRequest string `json:"lastHandledRequest,omitempty"`

	// totalActions counts actions taken (or recorded in dry-run) since creation.
	// +optional
	TotalActions int64 `json:"totalActions,omitempty"`

	// ruleCount is how many rules the spec has (for kubectl get).
	// +optional
	RuleCount int32 `json:"ruleCount,omitempty"`

	// rules counts what each rule did.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Rules []RuleStatus `json:"rules,omitempty"`

	// pendingActions are actions recorded before their GitLab call; normally empty
	// between syncs.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	PendingActions []PendingAction `json:"pendingActions,omitempty"`

	// recentActions are the last 20 actions, newest first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	RecentActions []ActionRecord `json:"recentActions,omitempty"`
}

// JobWatch is a standing policy: ordered rules that match a project's jobs and act on them.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=jw,categories=gitlab
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.project`
// +kubebuilder:printcolumn:name="Rules",type=integer,JSONPath=`.status.ruleCount`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Actions",type=integer,JSONPath=`.status.totalActions`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
type JobWatch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the policy.
	// +required
	Spec JobWatchSpec `json:"spec"`

	// status is what the watch saw and did.
	// +optional
	Status JobWatchStatus `json:"status,omitempty"`
}

// JobWatchList is a list of JobWatches.
// +kubebuilder:object:root=true
type JobWatchList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []JobWatch `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &JobWatch{}, &JobWatchList{})
}
