package gitlabsim

import (
	"slices"
	"testing"
)

func TestJobIndexPages(t *testing.T) {
	var x jobIndex
	// ids 1..10; even ids failed, odd success; 7 becomes running.
	for id := int64(1); id <= 10; id++ {
		st := StatusSuccess
		if id%2 == 0 {
			st = StatusFailed
		}
		x.add(id, st)
	}
	x.move(7, StatusSuccess, StatusRunning)

	for _, tc := range []struct {
		name     string
		statuses []string
		before   int64
		skip     int
		limit    int
		want     []int64
		more     bool
	}{
		{"first page", nil, 0, 0, 3, []int64{10, 9, 8}, true},
		{"after cursor", nil, 8, 0, 3, []int64{7, 6, 5}, true},
		{"last page exactly", nil, 4, 0, 3, []int64{3, 2, 1}, false},
		{"offset", nil, 0, 8, 3, []int64{2, 1}, false},
		{"offset past the end", nil, 0, 10, 3, nil, false},
		{"one status", []string{StatusFailed}, 0, 0, 10, []int64{10, 8, 6, 4, 2}, false},
		{"moved status", []string{StatusRunning}, 0, 0, 10, []int64{7}, false},
		{"moved out", []string{StatusSuccess}, 0, 0, 10, []int64{9, 5, 3, 1}, false},
		{"two statuses merged", []string{StatusRunning, StatusFailed}, 0, 0, 4, []int64{10, 8, 7, 6}, true},
		{"merged after cursor", []string{StatusSuccess, StatusRunning}, 7, 0, 2, []int64{5, 3}, true},
		{"merged with offset", []string{StatusSuccess, StatusFailed}, 0, 2, 3, []int64{8, 6, 5}, true},
		{"empty status", []string{StatusCanceled}, 0, 0, 3, nil, false},
		{"cursor below everything", nil, 1, 0, 3, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, more := x.page(tc.statuses, tc.before, tc.skip, tc.limit)
			if !slices.Equal(got, tc.want) || more != tc.more {
				t.Fatalf("page = %v more %v, want %v more %v", got, more, tc.want, tc.more)
			}
		})
	}
}

func TestInsertAndRemoveSortedKeepOrder(t *testing.T) {
	var s []int64
	for _, id := range []int64{5, 1, 9, 3, 7, 3} {
		s = insertSorted(s, id)
	}
	if !slices.Equal(s, []int64{1, 3, 5, 7, 9}) {
		t.Fatalf("insert: %v", s)
	}
	s = removeSorted(removeSorted(s, 5), 42)
	if !slices.Equal(s, []int64{1, 3, 7, 9}) {
		t.Fatalf("remove: %v", s)
	}
}

func TestOutcomeForms(t *testing.T) {
	for in, want := range map[string]Outcome{
		`"success"`:                      {Status: StatusSuccess},
		`"failed"`:                       {Status: StatusFailed},
		`"failed:runner_system_failure"`: {Status: StatusFailed, FailureReason: ReasonRunnerSystemFailure},
		`"failed:script_failure:Could not resolve host: x"`: {Status: StatusFailed, FailureReason: ReasonScriptFailure,
			Log: "Could not resolve host: x"},
		`{"status":"failed","failure_reason":"api_failure","log":"boom"}`: {Status: StatusFailed, FailureReason: ReasonAPIFailure, Log: "boom"},
	} {
		var o Outcome
		if err := o.UnmarshalJSON([]byte(in)); err != nil || o != want {
			t.Errorf("%s: %+v %v, want %+v", in, o, err, want)
		}
	}
	for _, bad := range []string{`"running"`, `"success:script_failure"`, `{"status":"maybe"}`, `42`} {
		var o Outcome
		if err := o.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted as %+v", bad, o)
		}
	}
	if s := (Outcome{Status: StatusFailed, FailureReason: "x", Log: "a:b"}).String(); s != "failed:x:a:b" {
		t.Errorf("String: %q", s)
	}
}
