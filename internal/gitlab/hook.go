package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// MaxHookPayload is the largest webhook body ParseHook reads. A Job Hook is
// a few KiB; a Pipeline Hook grows by about half a KiB a build, so 1 MiB
// holds pipelines of well over a thousand jobs while bounding what a caller
// holding the token can make the receiver buffer.
const MaxHookPayload = 1 << 20

// HookKind is which webhook a delivery is, as far as the operator cares. It
// is a small fixed set, fit for a metric label.
type HookKind string

const (
	// HookJob is a Job Hook: one job changed status.
	HookJob HookKind = "Job"
	// HookPipeline is a Pipeline Hook: a pipeline changed status.
	HookPipeline HookKind = "Pipeline"
	// HookOther is any other event (Push Hook, Merge Request Hook...),
	// which the operator does not use.
	HookOther HookKind = "Other"
)

// HookEvent is what a Job Hook or Pipeline Hook delivery tells the operator:
// which project, and which jobs and pipeline changed. It carries ids,
// names and statuses, never the payload's free text (commit messages,
// user names, variables).
type HookEvent struct {
	// Kind is HookJob or HookPipeline.
	Kind HookKind
	// ProjectID is the project's numeric id.
	ProjectID int64
	// ProjectPath is the project's full path (group/sub/app): the
	// project's path_with_namespace where the payload has it, else the path
	// of its web URL (a Job Hook's repository.homepage). On an instance
	// served under a relative URL root, that web URL's path starts with the
	// root: match on ProjectID where one is known.
	ProjectPath string
	// Ref is the branch or tag the job or pipeline ran for.
	Ref string
	// PipelineID is the pipeline of the job (Job Hook) or the pipeline
	// itself (Pipeline Hook).
	PipelineID int64

	// JobID, JobName, JobStage, JobStatus and JobFailureReason describe the
	// job of a Job Hook (build_id, build_name...); empty for a Pipeline
	// Hook. JobFailureReason is set only when JobStatus is failed.
	JobID                                          int64
	JobName, JobStage, JobStatus, JobFailureReason string

	// JobCreatedAt, JobStartedAt and JobFinishedAt are a Job Hook's times,
	// nil until they happen; JobAllowFailure its allow_failure.
	JobCreatedAt, JobStartedAt, JobFinishedAt *time.Time
	JobAllowFailure                           bool
	// JobRetriesCount is a Job Hook's retries_count: how many earlier
	// attempts of the job's name its pipeline had (Ci::Build#retries_count),
	// the retry budget spent so far. Nil when the payload has none (older
	// GitLab): the budget must then be read from the pipeline.
	JobRetriesCount *int64

	// PipelineStatus is a Pipeline Hook's pipeline status; empty for a Job
	// Hook.
	PipelineStatus string
	// JobIDs are the ids of a Pipeline Hook's builds, in the payload's
	// order; nil for a Job Hook.
	JobIDs []int64
}

// HookFault says why a delivery gives nothing to act on, and so how a
// receiver answers it.
type HookFault string

const (
	// HookTooLarge: the body is over MaxHookPayload (answer 413).
	HookTooLarge HookFault = "TooLarge"
	// HookMalformed: not a payload of the kind its X-Gitlab-Event header
	// names (answer 400): no header, JSON that does not parse, or a job or
	// pipeline event without the ids the operator acts on.
	HookMalformed HookFault = "Malformed"
	// HookUnused: a well-formed delivery of an event the operator does not
	// use (answer 2xx and ignore it: GitLab disables hooks whose deliveries
	// keep failing).
	HookUnused HookFault = "Unused"
)

// HookError is every error ParseHook returns. Its text names the fault and
// at most a field name or a byte offset, never the payload's content.
type HookError struct {
	// Kind is the delivery's kind as its header says (HookOther when the
	// header names nothing the operator uses, or nothing at all).
	Kind HookKind
	// Fault is what is wrong with it.
	Fault HookFault
	// Reason says why, for a log line or the response body.
	Reason string
}

func (e *HookError) Error() string {
	return "gitlab webhook: " + string(e.Fault) + ": " + e.Reason
}

// HookFaultOf returns the fault of an error from ParseHook, or "" for nil
// or an error of another kind.
func HookFaultOf(err error) HookFault {
	var e *HookError
	if errors.As(err, &e) {
		return e.Fault
	}
	return ""
}

// ParseHook reads one webhook delivery (its X-Gitlab-Event header and its
// body, at most MaxHookPayload bytes) with the library's HookEventType and
// ParseWebhook, and returns the event, or a *HookError. It does not check
// X-Gitlab-Token: the caller does that first, so that nothing is read for
// a caller without it.
func ParseHook(r *http.Request) (*HookEvent, error) {
	eventType := gl.HookEventType(r)
	kind, err := hookKind(eventType)
	if err != nil {
		return nil, err
	}
	payload, err := readHookBody(r, kind)
	if err != nil {
		return nil, err
	}
	event, err := gl.ParseWebhook(eventType, payload)
	if err != nil {
		return nil, malformedJSON(kind, err)
	}
	switch ev := event.(type) {
	case *gl.JobEvent:
		out, err := fromJobEvent(ev)
		if err == nil {
			out.JobRetriesCount = retriesCount(payload)
		}
		return out, err
	case *gl.PipelineEvent:
		return fromPipelineEvent(ev)
	}
	return nil, &HookError{Kind: kind, Fault: HookMalformed, Reason: "the library parsed an unexpected event type"}
}

// hookKind reads the event type. Kinds the operator does not use are
// refused before their body is read: there is nothing to parse them for.
func hookKind(eventType gl.EventType) (HookKind, error) {
	switch eventType {
	case gl.EventTypeJob:
		return HookJob, nil
	case gl.EventTypePipeline:
		return HookPipeline, nil
	case "":
		return HookOther, &HookError{Kind: HookOther, Fault: HookMalformed, Reason: "no X-Gitlab-Event header"}
	}
	return HookOther, &HookError{Kind: HookOther, Fault: HookUnused,
		Reason: fmt.Sprintf("event type %.40q is not used", string(eventType))}
}

func readHookBody(r *http.Request, kind HookKind) ([]byte, error) {
	tooLarge := &HookError{Kind: kind, Fault: HookTooLarge, Reason: fmt.Sprintf("body over %d bytes", MaxHookPayload)}
	if r.ContentLength > MaxHookPayload {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, &HookError{Kind: kind, Fault: HookMalformed, Reason: "empty body"}
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxHookPayload+1))
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes), len(payload) > MaxHookPayload:
		return nil, tooLarge
	case err != nil:
		return nil, &HookError{Kind: kind, Fault: HookMalformed, Reason: "body could not be read"}
	}
	return payload, nil
}

// malformedJSON describes a decoding error by position or field only:
// json's own message may quote the payload.
func malformedJSON(kind HookKind, err error) error {
	reason := "body is not JSON"
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		reason = fmt.Sprintf("body is not JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		// The library decodes some events through an alias type, which
		// json names in the field path.
		field := strings.ReplaceAll(typ.Field, "Alias.", "")
		reason = fmt.Sprintf("field %q has the wrong type", field)
	}
	return &HookError{Kind: kind, Fault: HookMalformed, Reason: reason}
}

func fromJobEvent(ev *gl.JobEvent) (*HookEvent, error) {
	if ev.ObjectKind != "build" {
		return nil, wrongObjectKind(HookJob, "build")
	}
	out := &HookEvent{
		Kind:             HookJob,
		ProjectID:        ev.ProjectID,
		ProjectPath:      ev.Project.PathWithNamespace,
		Ref:              ev.Ref,
		PipelineID:       ev.PipelineID,
		JobID:            ev.BuildID,
		JobName:          ev.BuildName,
		JobStage:         ev.BuildStage,
		JobStatus:        ev.BuildStatus,
		JobFailureReason: ev.BuildFailureReason,
	}
	if out.ProjectID == 0 {
		out.ProjectID = ev.Project.ID
	}
	if out.ProjectPath == "" && ev.Repository != nil {
		out.ProjectPath = pathOfWebURL(ev.Repository.Homepage)
	}
	if out.PipelineID == 0 {
		// GitLab's build hook names the pipeline in commit.id as well.
		out.PipelineID = ev.Commit.ID
	}
	out.JobAllowFailure = ev.BuildAllowFailure
	out.JobCreatedAt = hookTime(ev.BuildCreatedAtISO, ev.BuildCreatedAt)
	out.JobStartedAt = hookTime(ev.BuildStartedAtISO, ev.BuildStartedAt)
	out.JobFinishedAt = hookTime(ev.BuildFinishedAtISO, ev.BuildFinishedAt)
	if out.JobStatus != "failed" {
		// The hook sends the job's failure_reason column whatever the
		// status (unknown_failure for a job that never failed); the API,
		// and so Job.FailureReason, has one only for a failed job.
		out.JobFailureReason = ""
	}
	if out.JobID <= 0 || out.ProjectID <= 0 {
		return nil, &HookError{Kind: HookJob, Fault: HookMalformed, Reason: "no build_id or project_id"}
	}
	return out, nil
}

func fromPipelineEvent(ev *gl.PipelineEvent) (*HookEvent, error) {
	if ev.ObjectKind != "pipeline" {
		return nil, wrongObjectKind(HookPipeline, "pipeline")
	}
	out := &HookEvent{
		Kind:           HookPipeline,
		ProjectID:      ev.Project.ID,
		ProjectPath:    ev.Project.PathWithNamespace,
		Ref:            ev.ObjectAttributes.Ref,
		PipelineID:     ev.ObjectAttributes.ID,
		PipelineStatus: ev.ObjectAttributes.Status,
	}
	if out.ProjectPath == "" {
		out.ProjectPath = pathOfWebURL(ev.Project.WebURL)
	}
	if len(ev.Builds) > 0 {
		out.JobIDs = make([]int64, 0, len(ev.Builds))
		for _, b := range ev.Builds {
			out.JobIDs = append(out.JobIDs, b.ID)
		}
	}
	if out.PipelineID <= 0 || out.ProjectID <= 0 {
		return nil, &HookError{Kind: HookPipeline, Fault: HookMalformed, Reason: "no object_attributes.id or project.id"}
	}
	return out, nil
}

// wrongObjectKind refuses a body whose object_kind is not the one its
// header promises: the header and the body disagree about what changed.
func wrongObjectKind(kind HookKind, want string) error {
	return &HookError{Kind: kind, Fault: HookMalformed,
		Reason: fmt.Sprintf("object_kind is not %q", want)}
}

// pathOfWebURL is the project path in a project's web URL
// (https://gitlab.example.com/group/app -> group/app), or "".
func pathOfWebURL(webURL string) string {
	u, err := url.Parse(webURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.Trim(u.Path, "/")
}

// hookTime reads a Job Hook time: the _iso form when GitLab sends it, else
// the plain form ("2021-02-23 02:41:37 UTC"); nil when there is none or it
// does not parse.
func hookTime(iso, plain string) *time.Time {
	for _, v := range []struct{ layout, value string }{{time.RFC3339Nano, iso}, {"2006-01-02 15:04:05 MST", plain}} {
		if v.value == "" {
			continue
		}
		if t, err := time.Parse(v.layout, v.value); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}

// retriesCount reads retries_count from a Job Hook payload, telling an
// absent key (nil) from a zero: the library's JobEvent cannot.
func retriesCount(payload []byte) *int64 {
	var doc struct {
		RetriesCount *int64 `json:"retries_count"`
	}
	if json.Unmarshal(payload, &doc) != nil {
		return nil
	}
	return doc.RetriesCount
}
