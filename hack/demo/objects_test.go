package main

import (
	"strings"
	"testing"
)

// `kubectl get gitlab` lists every kind of the category in one list: each
// item must be read as its own kind.
func TestDecodeListReadsEachKindAsItsAPIType(t *testing.T) {
	objs, err := decodeList(`{"apiVersion":"v1","kind":"List","items":[
		{"apiVersion":"ci.jobops.dev/v1alpha1","kind":"GitLabConnection","metadata":{"name":"gitlab",
			"annotations":{"demo.jobops.dev/expect":"Ready/Succeeded"}},
			"status":{"conditions":[{"type":"Ready","status":"True","reason":"Succeeded","message":"ok",
			"lastTransitionTime":"2026-03-02T09:14:05Z"}],"username":"root"}},
		{"apiVersion":"ci.jobops.dev/v1alpha1","kind":"JobWatch","metadata":{"name":"retry-infra",
			"annotations":{"demo.jobops.dev/expect-min-actions":"2"}},"status":{"totalActions":3}},
		{"apiVersion":"v1","kind":"Secret","metadata":{"name":"gitlab-token"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("decoded %d objects, want 3", len(objs))
	}
	rs := evaluate(objs)
	if len(rs) != 2 || !allMet(rs) {
		t.Fatalf("evaluate = %+v, want the connection Ready and the watch's actions met", rs)
	}
	if got := objs[1].state(); got != "totalActions=3" {
		t.Fatalf("watch state = %q", got)
	}
	if objs[2].id() != "secret/gitlab-token" || objs[2].Conditions != nil {
		t.Fatalf("other kind = %+v", objs[2])
	}
}

func TestDecodeListRefusesAnItemItsKindCannotHold(t *testing.T) {
	_, err := decodeList(`{"items":[{"kind":"JobAction","metadata":{"name":"a"},"status":{"resultJob":{"id":"seven"}}}]}`)
	if err == nil || !strings.Contains(err.Error(), "decoding kubectl's list") {
		t.Fatalf("err = %v", err)
	}
}
