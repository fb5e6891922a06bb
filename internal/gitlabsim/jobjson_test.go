package gitlabsim

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r", "\x00\x1f", "héllo ✓", "bad\xffutf8", "line\u2028sep\u2029", "<&>"} {
		enc, _ := json.Marshal(s)
		// encoding/json escapes <, > and & for HTML; GitLab does not.
		want := string(enc)
		if s == "<&>" {
			want = `"<&>"`
		}
		if got := string(appendString(nil, s)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendTimeIsUTCWithMilliseconds(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2015, 12, 24, 16, 51, 21, 880_123_456, loc), `"2015-12-24T15:51:21.880Z"`},
		{time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), `"2026-01-02T03:04:05.006Z"`},
		{time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), `"12345-01-01T00:00:00.000Z"`},
	} {
		if got := string(appendTime(nil, tc.in)); got != tc.want {
			t.Errorf("appendTime(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestEveryKindOfJobRendersValidJSON(t *testing.T) {
	cov := 87.5
	var jobs []JobSpec
	for _, st := range AllStatuses {
		jobs = append(jobs, JobSpec{Name: "j-" + st, Status: st, Trace: "log \"quoted\"\n", Artifacts: true,
			Coverage: &cov, TagList: []string{"a\"b", "ü"}})
	}
	var bridges []BridgeSpec
	for _, st := range AllStatuses {
		bridges = append(bridges, BridgeSpec{Name: "b-" + st, Status: st, DownstreamStatus: StatusRunning})
	}
	w := newWorld(t, Options{}, jobs, bridges)
	for _, path := range []string{
		"/jobs?per_page=100",
		"/pipelines/" + itoa(w.pl.ID) + "/jobs?per_page=100",
		"/pipelines/" + itoa(w.pl.ID) + "/bridges?per_page=100",
	} {
		res := do(t, "GET", w.url+"/api/v4/projects/1"+path, "", auth(testToken))
		var list []map[string]any
		if !json.Valid([]byte(res.body)) || json.Unmarshal([]byte(res.body), &list) != nil || len(list) != len(AllStatuses) {
			t.Fatalf("%s: %d invalid or short: %.300s", path, res.code, res.body)
		}
		for _, j := range list {
			if j["status"] == StatusFailed && j["failure_reason"] != ReasonUnknownFailure {
				t.Errorf("failed job without its default reason: %v", j)
			}
		}
	}
}
