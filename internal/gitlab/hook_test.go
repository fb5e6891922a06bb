package gitlab

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// delivery is a webhook POST as GitLab sends it.
func delivery(eventType string, body io.Reader) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/abc", body)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitLab/18.9.0")
	if eventType != "" {
		r.Header.Set("X-Gitlab-Event", eventType)
	}
	r.Header.Set("X-Gitlab-Token", testToken)
	return r
}

func hookFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func count(n int64) *int64 { return &n }

func TestParseHookReadsJobAndPipelineHooks(t *testing.T) {
	tests := []struct {
		name      string
		eventType string
		fixture   string
		want      HookEvent
	}{
		{
			name: "Job Hook of a failed job, project path from repository.homepage", eventType: "Job Hook", fixture: "job-failed.json",
			want: HookEvent{
				Kind: HookJob, ProjectID: 7, ProjectPath: "platform/app", Ref: "main", PipelineID: 812,
				JobID: 4721, JobName: "integration tests", JobStage: "test", JobStatus: "failed", JobFailureReason: "runner_system_failure",
				JobCreatedAt: at("2026-03-02T09:14:05Z"), JobStartedAt: at("2026-03-02T09:14:09Z"), JobFinishedAt: at("2026-03-02T09:16:44Z"),
				JobRetriesCount: count(1),
			},
		},
		{
			// The homepage is under a relative URL root (/gitlab): the
			// project's own path_with_namespace wins. A running job's
			// failure_reason column is not a failure reason.
			name: "Job Hook with a project object, on a tag", eventType: "Job Hook", fixture: "job-running-with-project.json",
			want: HookEvent{
				Kind: HookJob, ProjectID: 42, ProjectPath: "infra/deploy/clusters", Ref: "v2.3.0", PipelineID: 901,
				JobID: 5102, JobName: "deploy-prod", JobStage: "deploy", JobStatus: "running",
				JobCreatedAt: at("2026-03-02T10:00:00Z"), JobStartedAt: at("2026-03-02T10:00:02Z"),
			},
		},
		{
			name: "Pipeline Hook lists its builds", eventType: "Pipeline Hook", fixture: "pipeline-failed.json",
			want: HookEvent{
				Kind: HookPipeline, ProjectID: 7, ProjectPath: "platform/app", Ref: "main", PipelineID: 812,
				PipelineStatus: "failed", JobIDs: []int64{4722, 4721, 4720},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHook(delivery(tt.eventType, bytes.NewReader(hookFixture(t, tt.fixture))))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("event =\n %+v\nwant\n %+v", *got, tt.want)
			}
		})
	}
}

func TestParseHookFaults(t *testing.T) {
	job := string(hookFixture(t, "job-failed.json"))
	// unread fails the test if read: kinds the operator does not use
	// are answered from the header alone.
	unread := func(t *testing.T) io.Reader {
		return readerFunc(func([]byte) (int, error) { t.Error("body read"); return 0, io.EOF })
	}
	tests := []struct {
		name      string
		eventType string
		body      func(t *testing.T) io.Reader
		kind      HookKind
		fault     HookFault
		reason    string // a part of the error's text
	}{
		{"push hook is not used", "Push Hook", unread, HookOther, HookUnused, `"Push Hook" is not used`},
		{"the old Build Hook name is not used", "Build Hook", unread, HookOther, HookUnused, "not used"},
		{"unknown event type, long header cut short", "X" + strings.Repeat("y", 500), unread, HookOther, HookUnused, "not used"},
		{"no event header", "", unread, HookOther, HookMalformed, "no X-Gitlab-Event header"},
		{"not JSON", "Job Hook", text(`{"object_kind":"build","build_id":12,glpat-SECRET`), HookJob, HookMalformed, "not JSON (at byte"},
		{"truncated JSON", "Job Hook", text(job[:200]), HookJob, HookMalformed, "not JSON"},
		{"a job payload under a pipeline header", "Pipeline Hook", text(job), HookPipeline, HookMalformed, `"commit.id" has the wrong type`},
		{"a field of the wrong type", "Job Hook", text(`{"object_kind":"build","build_id":"glpat-SECRET"}`), HookJob, HookMalformed, `"build_id" has the wrong type`},
		{"header and body disagree", "Job Hook", text(`{"object_kind":"pipeline","build_id":4721,"project_id":7}`), HookJob, HookMalformed, `object_kind is not "build"`},
		{"job hook without ids", "Job Hook", text(`{"object_kind":"build","build_name":"glpat-SECRET"}`), HookJob, HookMalformed, "no build_id or project_id"},
		{"pipeline hook without ids", "Pipeline Hook", text(`{"object_kind":"pipeline","object_attributes":{"status":"failed"}}`), HookPipeline, HookMalformed, "no object_attributes.id or project.id"},
		{"empty body", "Job Hook", text(""), HookJob, HookMalformed, "not JSON"},
		{"body over the limit", "Job Hook", text(job + strings.Repeat(" ", MaxHookPayload)), HookJob, HookTooLarge, "body over 1048576 bytes"},
		{"body over the limit, without a length", "Job Hook", func(*testing.T) io.Reader {
			return io.MultiReader(strings.NewReader(job), strings.NewReader(strings.Repeat(" ", MaxHookPayload)))
		}, HookJob, HookTooLarge, "body over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseHook(delivery(tt.eventType, tt.body(t)))
			var e *HookError
			if !errors.As(err, &e) || ev != nil {
				t.Fatalf("ParseHook = %+v, %v; want a *HookError", ev, err)
			}
			if e.Kind != tt.kind || e.Fault != tt.fault || HookFaultOf(err) != tt.fault {
				t.Fatalf("kind %q fault %q (%v), want %q %q", e.Kind, e.Fault, err, tt.kind, tt.fault)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error %q does not say %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "glpat") || len(err.Error()) > 120 {
				t.Fatalf("error carries the payload or too much of a header: %q", err)
			}
		})
	}
}

func TestParseHookAcceptsABodyOfExactlyTheLimit(t *testing.T) {
	job := hookFixture(t, "job-failed.json")
	body := append(job, bytes.Repeat([]byte(" "), MaxHookPayload-len(job))...)
	if _, err := ParseHook(delivery("Job Hook", bytes.NewReader(body))); err != nil {
		t.Fatalf("a body of MaxHookPayload bytes: %v", err)
	}
}

// A receiver that bounds the body itself, with a smaller limit, gets the
// same fault.
func TestParseHookReportsTheCallersOwnBodyLimitAsTooLarge(t *testing.T) {
	r := delivery("Job Hook", bytes.NewReader(hookFixture(t, "job-failed.json")))
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 100)
	if _, err := ParseHook(r); HookFaultOf(err) != HookTooLarge {
		t.Fatalf("err = %v, want TooLarge", err)
	}
}

func TestHookFaultOfForeignErrors(t *testing.T) {
	if HookFaultOf(nil) != "" || HookFaultOf(errors.New("x")) != "" {
		t.Fatal("HookFaultOf of nil or a foreign error")
	}
}

func text(s string) func(*testing.T) io.Reader {
	return func(*testing.T) io.Reader { return strings.NewReader(s) }
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
