package gitlabsim

// Job statuses GitLab knows (CommitStatus::AVAILABLE_STATUSES). The public
// docs list fewer; GitLab's scope parameter accepts all thirteen, so the
// simulator does too (docs/gitlab-api.md).
const (
	StatusCreated            = "created"
	StatusWaitingForResource = "waiting_for_resource"
	StatusPreparing          = "preparing"
	StatusWaitingForCallback = "waiting_for_callback"
	StatusPending            = "pending"
	StatusRunning            = "running"
	StatusSuccess            = "success"
	StatusFailed             = "failed"
	StatusCanceling          = "canceling"
	StatusCanceled           = "canceled"
	StatusSkipped            = "skipped"
	StatusManual             = "manual"
	StatusScheduled          = "scheduled"
)

// AllStatuses lists the thirteen statuses in GitLab's order.
var AllStatuses = []string{
	StatusCreated, StatusWaitingForResource, StatusPreparing, StatusWaitingForCallback,
	StatusPending, StatusRunning, StatusSuccess, StatusFailed, StatusCanceling,
	StatusCanceled, StatusSkipped, StatusManual, StatusScheduled,
}

var validStatus = func() map[string]bool {
	m := make(map[string]bool, len(AllStatuses))
	for _, s := range AllStatuses {
		m[s] = true
	}
	return m
}()

// IsValidStatus reports whether s is one of the thirteen job statuses.
func IsValidStatus(s string) bool { return validStatus[s] }

func isFinished(s string) bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped:
		return true
	}
	return false
}

// isCancelable follows docs/gitlab-api.md: the active statuses, plus manual.
func isCancelable(s string) bool {
	switch s {
	case StatusCreated, StatusWaitingForResource, StatusPreparing, StatusWaitingForCallback,
		StatusPending, StatusRunning, StatusScheduled, StatusManual:
		return true
	}
	return false
}

// isRetryableStatus is the status half of GitLab's retryable? rule; the other
// half (not already retried) is checked on the job.
func isRetryableStatus(s string) bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusCanceling:
		return true
	}
	return false
}

// tokenActive: a CI_JOB_TOKEN authenticates only while its job runs.
func tokenActive(s string) bool { return s == StatusRunning || s == StatusCanceling }

// hasStarted reports whether a job in status s has been picked by a runner,
// which decides whether started_at is set when a spec does not say.
func hasStarted(s string) bool {
	switch s {
	case StatusRunning, StatusCanceling, StatusSuccess, StatusFailed:
		return true
	}
	return false
}

// FailureReasons GitLab reports (not exhaustive; any non-empty string is
// accepted, these are the ones the demo and docs use).
const (
	ReasonScriptFailure          = "script_failure"
	ReasonRunnerSystemFailure    = "runner_system_failure"
	ReasonStuckOrTimeoutFailure  = "stuck_or_timeout_failure"
	ReasonAPIFailure             = "api_failure"
	ReasonUnknownFailure         = "unknown_failure"
	ReasonJobExecutionTimeout    = "job_execution_timeout"
	ReasonDownstreamPipelineFail = "downstream_pipeline_creation_failed"
)

// Composite pipeline status, after GitLab's Gitlab::Ci::Status::Composite.
// Jobs that may fail (allow_failure) are counted apart so they do not fail
// the pipeline.
const (
	bucketWarning = "success_with_warnings" // failed but allowed to fail
	bucketIgnored = "ignored"               // canceled or manual, allowed to fail
)

func bucketOf(status string, allowFailure bool) string {
	if allowFailure {
		switch status {
		case StatusFailed:
			return bucketWarning
		case StatusCanceled, StatusManual:
			return bucketIgnored
		}
	}
	return status
}

type statusCounts map[string]int

func (c statusCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c statusCounts) onlyOf(keys ...string) bool {
	n := 0
	for _, k := range keys {
		n += c[k]
	}
	return n == c.total()
}

func (c statusCounts) anyOf(keys ...string) bool {
	for _, k := range keys {
		if c[k] > 0 {
			return true
		}
	}
	return false
}

func (c statusCounts) composite() string {
	if c.total() == 0 {
		return StatusCreated
	}
	switch {
	case c.onlyOf(StatusSkipped, bucketIgnored):
		return StatusSkipped
	case c.onlyOf(StatusSuccess, StatusSkipped, bucketWarning, bucketIgnored):
		return StatusSuccess
	case c.onlyOf(StatusCreated, bucketWarning, bucketIgnored):
		return StatusCreated
	case c.onlyOf(StatusPreparing, bucketWarning, bucketIgnored):
		return StatusPreparing
	case c.onlyOf(StatusCanceled, StatusSuccess, StatusSkipped, bucketWarning, bucketIgnored):
		return StatusCanceled
	case c.onlyOf(StatusPending, StatusCreated, StatusSkipped, bucketWarning, bucketIgnored):
		return StatusPending
	case c.anyOf(StatusRunning, StatusPending, StatusCanceling):
		return StatusRunning
	case c.anyOf(StatusWaitingForResource):
		return StatusWaitingForResource
	case c.anyOf(StatusWaitingForCallback):
		return StatusWaitingForCallback
	case c.anyOf(StatusManual):
		return StatusManual
	case c.anyOf(StatusScheduled):
		return StatusScheduled
	case c.anyOf(StatusPreparing):
		return StatusPreparing
	case c.anyOf(StatusCreated):
		return StatusRunning
	default:
		return StatusFailed
	}
}
