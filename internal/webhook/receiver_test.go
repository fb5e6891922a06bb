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

package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

const (
	goodPath  = PathPrefix + "c0ffee"
	goodToken = "whsec-right"
	jobHook   = `{"object_kind":"build","build_id":7,"build_name":"rspec","build_status":"failed","pipeline_id":3,"project_id":42,"repository":{"homepage":"https://gitlab.example.com/group/app"}}`
)

// testReceiver is a receiver whose only connection publishes goodPath, and
// which records what it dispatched.
func testReceiver(t *testing.T, resolveErr error, watchers int) (*Receiver, *[]*gitlab.HookEvent) {
	t.Helper()
	var got []*gitlab.HookEvent
	conn := types.NamespacedName{Namespace: "ns", Name: "gitlab"}
	resolve := func(_ context.Context, path string) (*Endpoint, error) {
		if resolveErr != nil {
			return nil, resolveErr
		}
		if path != goodPath {
			return nil, nil
		}
		return &Endpoint{Connection: conn, Token: goodToken}, nil
	}
	dispatch := func(_ context.Context, c types.NamespacedName, ev *gitlab.HookEvent, _ time.Time) int {
		if c != conn {
			t.Errorf("dispatched for %s, want %s", c, conn)
		}
		got = append(got, ev)
		return watchers
	}
	return NewReceiver("127.0.0.1:0", "", resolve, dispatch), &got
}

func TestReceiverAnswers(t *testing.T) {
	cases := []struct {
		name         string
		method, path string
		event, token string
		body         string
		resolveErr   error
		watchers     int
		status       int
		outcome      string
		dispatched   bool
	}{
		{name: "a Job Hook for a watched project", event: "Job Hook", token: goodToken, body: jobHook, watchers: 2,
			status: 200, outcome: outcomeAccepted, dispatched: true},
		{name: "a Job Hook nobody watches", event: "Job Hook", token: goodToken, body: jobHook, watchers: 0,
			status: 200, outcome: outcomeIgnored, dispatched: true},
		{name: "no token", event: "Job Hook", body: jobHook, status: 401, outcome: outcomeUnauthorized},
		{name: "a wrong token of the same length", event: "Job Hook", token: "whsec-wrong", body: jobHook, status: 401, outcome: outcomeUnauthorized},
		{name: "the right token with more after it", event: "Job Hook", token: goodToken + "x", body: jobHook, status: 401, outcome: outcomeUnauthorized},
		{name: "an unknown path", path: PathPrefix + "beef", event: "Job Hook", token: goodToken, body: jobHook, status: 404, outcome: outcomeNotFound},
		{name: "outside the receiver's paths", path: "/metrics", event: "Job Hook", token: goodToken, body: jobHook, status: 404, outcome: outcomeNotFound},
		{name: "a GET", method: http.MethodGet, event: "Job Hook", token: goodToken, status: 405, outcome: outcomeMalformed},
		{name: "malformed JSON", event: "Job Hook", token: goodToken, body: `{"object_kind":`, status: 400, outcome: outcomeMalformed},
		{name: "no event header", token: goodToken, body: jobHook, status: 400, outcome: outcomeMalformed},
		{name: "a body over 1 MiB", event: "Job Hook", token: goodToken, body: strings.Repeat(" ", gitlab.MaxHookPayload+1),
			status: 413, outcome: outcomeTooLarge},
		{name: "an event it does not use", event: "Push Hook", token: goodToken, body: `{"object_kind":"push"}`, status: 200, outcome: outcomeIgnored},
		{name: "the API server failing", event: "Job Hook", token: goodToken, body: jobHook, resolveErr: errors.New("etcd is away"),
			status: 503, outcome: outcomeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, got := testReceiver(t, tc.resolveErr, tc.watchers)
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = goodPath
			}
			req := httptest.NewRequest(method, path, strings.NewReader(tc.body))
			if tc.event != "" {
				req.Header.Set("X-Gitlab-Event", tc.event)
			}
			if tc.token != "" {
				req.Header.Set("X-Gitlab-Token", tc.token)
			}
			kind := string(kindOfHeader(tc.event))
			if tc.dispatched {
				kind = string(gitlab.HookJob)
			}
			before := testutil.ToFloat64(eventsTotal.WithLabelValues(kind, tc.outcome))
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if strings.Contains(rec.Body.String(), goodToken) || strings.Contains(rec.Body.String(), "rspec") {
				t.Fatalf("the answer %q repeats the token or the payload", rec.Body.String())
			}
			if (len(*got) > 0) != tc.dispatched {
				t.Fatalf("dispatched %d events, want dispatched=%v", len(*got), tc.dispatched)
			}
			if tc.dispatched && ((*got)[0].JobID != 7 || (*got)[0].ProjectID != 42 || (*got)[0].ProjectPath != "group/app") {
				t.Fatalf("dispatched %+v", (*got)[0])
			}
			if after := testutil.ToFloat64(eventsTotal.WithLabelValues(kind, tc.outcome)); after != before+1 {
				t.Fatalf("%s{kind=%s,outcome=%s} went from %v to %v, want one more", MetricEvents, kind, tc.outcome, before, after)
			}
		})
	}
}

// The receiver serves on its own port, says so in its health check, and
// stops with its context.
func TestReceiverServesAndStops(t *testing.T) {
	r, _ := testReceiver(t, nil, 1)
	if r.Check(nil) == nil {
		t.Fatal("the health check passes before the receiver serves")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.Check(nil) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+r.Addr()+goodPath, strings.NewReader(jobHook))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Gitlab-Event", "Job Hook")
	req.Header.Set("X-Gitlab-Token", goodToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d over the network, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start returned %v after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver did not stop")
	}
	if r.Check(nil) == nil {
		t.Fatal("the health check passes after the receiver stopped")
	}
}
