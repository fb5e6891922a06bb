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

// Condition types.
const (
	// ConditionReady is True when a GitLabConnection's token works, or a JobWatch's last
	// sync succeeded.
	ConditionReady = "Ready"
	// ConditionStalled is True when a JobWatch cannot work until its spec changes.
	ConditionStalled = "Stalled"
	// ConditionComplete is True when a JobAction finished as intended. Terminal.
	ConditionComplete = "Complete"
	// ConditionFailed is True when a JobAction cannot finish as intended. Terminal.
	ConditionFailed = "Failed"
	// ConditionProgressing is True while a JobAction is still working.
	ConditionProgressing = "Progressing"
	// ConditionWebhookReady is True when a GitLabConnection's webhooks are received.
	ConditionWebhookReady = "WebhookReady"
)

// Condition reasons. Each names one thing a user can look up and act on.
const (
	// ReasonSucceeded: the connection was checked, or the action and its result succeeded.
	ReasonSucceeded = "Succeeded"
	// ReasonConnectionNotFound: the referenced GitLabConnection does not exist (yet).
	ReasonConnectionNotFound = "ConnectionNotFound"
	// ReasonConnectionNotReady: the referenced GitLabConnection is not Ready.
	ReasonConnectionNotReady = "ConnectionNotReady"
	// ReasonSecretNotFound: a referenced Secret does not exist (yet).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretKeyMissing: a referenced Secret has no such key, or it is empty.
	ReasonSecretKeyMissing = "SecretKeyMissing"
	// ReasonInvalidCABundle: the CA bundle holds no PEM certificate.
	ReasonInvalidCABundle = "InvalidCABundle"
	// ReasonUnauthorized: GitLab answered 401: the token is wrong, expired or revoked.
	ReasonUnauthorized = "Unauthorized"
	// ReasonForbidden: GitLab answered 403: the token lacks the role or scope.
	ReasonForbidden = "Forbidden"
	// ReasonUnreachable: GitLab could not be reached (DNS, connection refused).
	ReasonUnreachable = "Unreachable"
	// ReasonTLSError: the TLS handshake failed (unknown CA, wrong host name).
	ReasonTLSError = "TLSError"
	// ReasonGitLabUnavailable: GitLab answered 5xx or 429, or timed out; it is retried
	// with backoff.
	ReasonGitLabUnavailable = "GitLabUnavailable"
	// ReasonAPIServerError: the Kubernetes API server failed a request the operator
	// made (reading a Secret, writing status); it is retried with backoff.
	ReasonAPIServerError = "APIServerError"

	// ReasonResolving: the JobAction is finding its target job.
	ReasonResolving = "Resolving"
	// ReasonActionPending: the intent is recorded and the GitLab call is being made.
	ReasonActionPending = "ActionPending"
	// ReasonWaitingForResult: GitLab accepted the action; the resulting job is followed.
	ReasonWaitingForResult = "WaitingForResult"
	// ReasonProjectNotFound: GitLab does not know the project, or the token cannot see it.
	ReasonProjectNotFound = "ProjectNotFound"
	// ReasonJobNotFound: no job matches the target.
	ReasonJobNotFound = "JobNotFound"
	// ReasonNotRetryable: GitLab refused to retry the job.
	ReasonNotRetryable = "NotRetryable"
	// ReasonUnplayable: GitLab refused to play the job (it is not manual).
	ReasonUnplayable = "Unplayable"
	// ReasonNotErasable: GitLab refused to erase the job.
	ReasonNotErasable = "NotErasable"
	// ReasonBadRequest: GitLab refused the request's parameters.
	ReasonBadRequest = "BadRequest"
	// ReasonAlreadyDone: an earlier JobAction of the same name and spec claimed this
	// action (it was deleted and the manifest applied again), and GitLab shows it done:
	// it is reported, not repeated. To act again, create a JobAction with a new name.
	ReasonAlreadyDone = "AlreadyDone"
	// ReasonJobSucceeded: the resulting job succeeded.
	ReasonJobSucceeded = "JobSucceeded"
	// ReasonJobFailed: the resulting job failed or was canceled.
	ReasonJobFailed = "JobFailed"
	// ReasonRequesterNotRunning: the requesting CI job's token is not valid (its job is
	// not running).
	ReasonRequesterNotRunning = "RequesterNotRunning"
	// ReasonRequesterOtherProject: the requesting CI job is in another project than the target.
	ReasonRequesterOtherProject = "RequesterOtherProject"
	// ReasonAgentNotAllowed: the requesting CI job may not use this cluster's agent.
	ReasonAgentNotAllowed = "AgentNotAllowed"
	// ReasonFinished: the JobAction is no longer progressing.
	ReasonFinished = "Finished"

	// ReasonReceiverDisabled: the manager runs no webhook receiver
	// (--webhook-bind-address=0), so GitLab's webhooks cannot be received.
	ReasonReceiverDisabled = "ReceiverDisabled"

	// ReasonSuspended: the JobWatch is suspended.
	ReasonSuspended = "Suspended"
	// ReasonInvalidLogPattern: a rule's logPattern is not a valid RE2 expression.
	ReasonInvalidLogPattern = "InvalidLogPattern"
	// ReasonInvalidRule: a rule cannot work as written (a bad glob, say).
	ReasonInvalidRule = "InvalidRule"
	// ReasonSyncing: the JobWatch has not finished a sync yet.
	ReasonSyncing = "Syncing"
)
