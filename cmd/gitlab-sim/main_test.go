package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// startRun runs the command in the background and reads what it prints
// until it is ready.
func startRun(t *testing.T, args ...string) (url string, lines []string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), pw)
		pw.Close()
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if m := re.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if line == "ready" {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" {
		cancel()
		t.Fatalf("no URL printed: %v (%v)", lines, <-done)
	}
	return url, lines, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(3 * time.Second):
			t.Fatal("run did not return after cancel")
			return nil
		}
	}
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestRunServesTheDemoWorldAndStopsCleanly(t *testing.T) {
	url, lines, stop := startRun(t, "--world", "demo", "--admin-token", "adm")
	out := strings.Join(lines, "\n")
	for _, want := range []string{"token glpat-demo-operator", "13 feature/long-test", "job token glcbt-"} {
		if !strings.Contains(out, want) {
			t.Errorf("startup output lacks %q:\n%s", want, out)
		}
	}
	if code := get(t, url+"/api/v4/projects/platform%2Fapp/jobs", "glpat-demo-operator"); code != 200 {
		t.Errorf("demo jobs: %d", code)
	}
	if code := get(t, url+"/-/sim/stats", ""); code != 401 {
		t.Errorf("admin without token: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if resp, err := http.Get(url + "/api/v4/version"); err == nil {
		resp.Body.Close()
		t.Error("still serving after shutdown")
	}
}

func TestRunLoadsAFixtureIntoAnEmptyWorld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world.yaml")
	fixture := "users: [{username: ci, token: glpat-ci}]\nprojects: [{id: 9, path_with_namespace: a/b}]\n" +
		"pipelines: [{project_id: 9, jobs: [{name: x, status: failed}]}]\n"
	if err := os.WriteFile(path, []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	url, lines, stop := startRun(t, "--world", "empty", "--fixture", path, "--lifecycle", "--jobs-rate-limit", "0")
	defer func() { _ = stop() }()
	out := strings.Join(lines, "\n")
	if !strings.Contains(out, "fixture user ci (id 1) token glpat-ci") || strings.Contains(out, "demo world") ||
		!strings.Contains(out, "lifecycle on") {
		t.Errorf("output:\n%s", out)
	}
	if code := get(t, url+"/api/v4/projects/9/jobs", "glpat-ci"); code != 200 {
		t.Errorf("fixture project: %d", code)
	}
	if code := get(t, url+"/api/v4/projects/1/jobs", "glpat-demo-operator"); code != 401 {
		t.Errorf("empty world knows the demo user: %d", code)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--world", "mars"},
		{"--listen", "127.0.0.1:0", "extra"},
		{"--fixture", "/nonexistent/file.yaml", "--listen", "127.0.0.1:0"},
		{"--listen", "256.0.0.1:1"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestPrintDemoFixtureWritesAFixtureThatLoadsAsTheDemoWorld(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"--print-demo-fixture"}, &out); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "world.yaml")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	url, lines, stop := startRun(t, "--world", "empty", "--fixture", path)
	defer func() { _ = stop() }()
	if !slices.Contains(lines, "fixture pipeline 6 in project 1: 5 jobs, 0 bridges") {
		t.Errorf("the copied demo world did not load as the demo: %v", lines)
	}
	if code := get(t, url+"/api/v4/projects/platform%2Fapp/jobs/10", "glpat-demo-operator"); code != 200 {
		t.Errorf("job 10 of the copy: %d", code)
	}
}

func TestHookURLRegistersAHookOnEveryProjectOfTheWorld(t *testing.T) {
	got := make(chan *http.Request, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
	}))
	defer rcv.Close()
	url, lines, stop := startRun(t, "--hook-url", rcv.URL, "--hook-token", "s3cret", "--hook-events", "job")
	defer func() { _ = stop() }()
	if !slices.Contains(lines, "hook 1 on project 1 -> "+rcv.URL+" (job events)") ||
		!slices.Contains(lines, "hook 2 on project 2 -> "+rcv.URL+" (job events)") {
		t.Fatalf("hooks not reported: %v", lines)
	}
	req, _ := http.NewRequest("POST", url+"/api/v4/projects/1/jobs/5/retry", nil)
	req.Header.Set("PRIVATE-TOKEN", "glpat-demo-operator")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("retry: %v", err)
	}
	_ = res.Body.Close()
	select {
	case r := <-got:
		if r.Header.Get("X-Gitlab-Event") != "Job Hook" || r.Header.Get("X-Gitlab-Token") != "s3cret" {
			t.Errorf("delivery headers: %v", r.Header)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery for the retry")
	}
	if _, err := parseFlags([]string{"--hook-events", "push"}, io.Discard); err == nil {
		t.Error("--hook-events push was accepted")
	}
}
