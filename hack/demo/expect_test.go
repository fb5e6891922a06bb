package main

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The annotations are the contract with whoever adds a demo manifest: each
// form must be decided the same way for any kind.
func TestEvaluateDecidesEachAnnotationForm(t *testing.T) {
	int64p := func(n int64) *int64 { return &n }
	obj := func(kind string, ann map[string]string, total *int64, conds ...metav1.Condition) object {
		return object{Kind: kind, Name: "x", Annotations: ann, Conditions: conds, TotalActions: total}
	}
	expect := func(v string) map[string]string { return map[string]string{annotationExpect: v} }
	minActions := func(v string) map[string]string { return map[string]string{annotationExpectMinActions: v} }
	tru := func(typ, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason}
	}
	fals := func(typ, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason}
	}

	for _, tc := range []struct {
		name string
		obj  object
		want verdict
	}{
		{"the expected condition is True", obj("JobAction", expect("Complete/Succeeded"), nil, tru("Complete", "Succeeded"), fals("Failed", "Succeeded")), met},
		{"a failure can be what is expected", obj("JobAction", expect("Failed/NotRetryable"), nil, fals("Complete", "NotRetryable"), tru("Failed", "NotRetryable")), met},
		{"still progressing", obj("JobAction", expect("Complete/JobSucceeded"), nil, tru("Progressing", "WaitingForResult")), pending},
		{"no status yet", obj("JobAction", expect("Complete/Succeeded"), nil), pending},
		{"terminal with another reason", obj("JobAction", expect("Complete/JobSucceeded"), nil, tru("Complete", "Succeeded")), missed},
		{"terminal the other way", obj("JobAction", expect("Complete/Succeeded"), nil, tru("Failed", "NotRetryable")), missed},
		{"stalled", obj("JobWatch", expect("Ready/Succeeded"), nil, fals("Ready", "InvalidLogPattern"), tru("Stalled", "InvalidLogPattern")), missed},
		{"not ready yet is not terminal", obj("GitLabConnection", expect("Ready/Succeeded"), nil, fals("Ready", "Unreachable")), pending},
		{"ready", obj("GitLabConnection", expect("Ready/Succeeded"), nil, tru("Ready", "Succeeded")), met},
		{"no reason in the annotation", obj("JobAction", expect("Complete"), nil), missed},
		{"enough actions", obj("JobWatch", minActions("3"), int64p(4)), met},
		{"not enough actions yet", obj("JobWatch", minActions("3"), int64p(2)), pending},
		{"no totalActions yet", obj("JobWatch", minActions("1"), nil), pending},
		{"a count that is not a number", obj("JobWatch", minActions("three"), int64p(9)), missed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := evaluate([]object{tc.obj})
			if len(rs) != 1 {
				t.Fatalf("evaluate = %d results, want 1", len(rs))
			}
			if rs[0].Verdict != tc.want {
				t.Fatalf("verdict = %d, want %d (%+v)", rs[0].Verdict, tc.want, rs[0])
			}
		})
	}
}

func TestObjectsWithoutAnnotationsAreNotWaitedFor(t *testing.T) {
	plain := object{Kind: "Secret", Name: "s"}
	both := object{Kind: "JobWatch", Name: "w",
		Annotations: map[string]string{annotationExpect: "Ready/Succeeded", annotationExpectMinActions: "1"}}
	rs := evaluate([]object{plain, both})
	if len(rs) != 2 || rs[0].ID != "jobwatch/w" || rs[1].ID != "jobwatch/w" {
		t.Fatalf("evaluate = %+v, want the watch's two expectations only", rs)
	}
	if settled(rs) || allMet(rs) {
		t.Fatal("pending expectations count as settled or met")
	}
	if allMet(nil) {
		t.Fatal("no expectation at all must not pass: the demo would check nothing")
	}
}

func TestDecodeListReadsKubectlJSON(t *testing.T) {
	objs, err := decodeList(`{"apiVersion":"v1","kind":"List","items":[{"kind":"JobAction","metadata":{"name":"a",
		"annotations":{"demo.jobops.dev/expect":"Complete/Succeeded"}},"status":{"conditions":[{"type":"Complete",
		"status":"True","reason":"Succeeded","message":"done"}],"resultJob":{"id":7,"status":"canceled"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	rs := evaluate(objs)
	if len(rs) != 1 || rs[0].Verdict != met || rs[0].Message != "done" {
		t.Fatalf("evaluate = %+v", rs)
	}
	if fp := fingerprint(objs); fp != "jobaction/a Complete/Succeeded job 7 canceled\n" {
		t.Fatalf("fingerprint = %q", fp)
	}
}
