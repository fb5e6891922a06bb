package gitlabsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Run with -race: concurrent mutations and reads must neither race nor lose
// an update.

func TestConcurrentRetriesOfOneJobSucceedOnce(t *testing.T) {
	w := newWorld(t, Options{}, []JobSpec{{Name: "x", Status: StatusFailed}}, nil)
	const n = 32
	var created, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch code := retryCode(w.url, w.job("x")); code {
			case 201:
				created.Add(1)
			case 403:
				refused.Add(1)
			default:
				t.Errorf("retry answered %d", code)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 || refused.Load() != n-1 {
		t.Fatalf("%d created, %d refused; want exactly one retry", created.Load(), refused.Load())
	}
	jobs, _ := w.s.PipelineJobs(w.pl.ID)
	if len(jobs) != 2 {
		t.Fatalf("pipeline has %d jobs, want 2", len(jobs))
	}
}

func retryCode(url string, id int64) int {
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v4/projects/1/jobs/%d/retry", url, id), nil)
	req.Header.Set("PRIVATE-TOKEN", testToken)
	res, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func TestConcurrentRetriesAndListsLoseNothing(t *testing.T) {
	const names = 10
	w := newWorld(t, Options{CancelingDuration: 0}, manyJobs(names, StatusFailed), nil)
	var mu sync.Mutex
	latest := map[string]int64{} // name -> newest attempt
	for _, j := range w.pl.Jobs {
		latest[j.Name] = j.ID
	}
	var retries atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})

	// Listers: every keyset walk sees strictly descending ids.
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := httpClient.Get(w.url + "/api/v4/projects/1/jobs?pagination=keyset&per_page=7&private_token=" + testToken)
				if err != nil {
					t.Error(err)
					return
				}
				var jobs []struct{ ID int64 }
				err = json.NewDecoder(res.Body).Decode(&jobs)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 {
					t.Errorf("list: %d %v", res.StatusCode, err)
					return
				}
				for i := 1; i < len(jobs); i++ {
					if jobs[i].ID >= jobs[i-1].ID {
						t.Errorf("ids not descending: %v", jobs)
						return
					}
				}
			}
		}()
	}
	// Retriers: retry the newest attempt of a random name, then fail it so
	// it can be retried again; cancel now and then.
	var rw sync.WaitGroup
	for g := 0; g < 12; g++ {
		rw.Add(1)
		go func(seed uint64) {
			defer rw.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < 25; i++ {
				name := fmt.Sprintf("job-%d", rng.IntN(names))
				mu.Lock()
				id := latest[name]
				mu.Unlock()
				if retryCode(w.url, id) != 201 {
					continue // another goroutine retried it first
				}
				retries.Add(1)
				n, ok := w.s.LatestAttempt(w.pl.ID, name)
				if !ok {
					t.Error("no latest attempt")
					return
				}
				mu.Lock()
				if n.ID > latest[name] {
					latest[name] = n.ID
				}
				mu.Unlock()
				if _, err := w.s.SetJobStatus(n.ID, StatusFailed, ReasonRunnerSystemFailure); err != nil {
					t.Error(err)
				}
			}
		}(uint64(g))
	}
	rw.Wait()
	close(stop)
	wg.Wait()

	jobs, _ := w.s.PipelineJobs(w.pl.ID)
	if int64(len(jobs)) != names+retries.Load() {
		t.Fatalf("%d jobs after %d retries of %d, want %d", len(jobs), retries.Load(), names, names+retries.Load())
	}
	perName := map[string]int{}
	notRetried := map[string]int{}
	for _, j := range jobs {
		perName[j.Name]++
		if !j.Retried {
			notRetried[j.Name]++
		}
	}
	for name, n := range notRetried {
		if n != 1 {
			t.Errorf("%s has %d latest attempts", name, n)
		}
	}
	var counted int64
	for _, a := range w.s.Stats().Actions {
		counted += a.Retry
	}
	if counted != retries.Load() || w.s.Stats().Count(RouteRetry, 201) != retries.Load() {
		t.Fatalf("stats count %d retries, clients saw %d", counted, retries.Load())
	}
	// The project index agrees with the pipeline: every attempt is failed now.
	if ids := walkKeyset(t, w.url+"/api/v4/projects/1/jobs?pagination=keyset&per_page=100&scope=failed"); len(ids) != len(jobs) {
		t.Fatalf("failed scope lists %d of %d jobs", len(ids), len(jobs))
	}
}

// walkKeyset follows rel="next" links from url and returns the ids seen.
func walkKeyset(t *testing.T, url string) []int64 {
	t.Helper()
	var ids []int64
	for url != "" {
		res := do(t, "GET", url, "", auth(testToken))
		var jobs []struct{ ID int64 }
		res.json(t, &jobs)
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		url = ""
		if l := res.header.Get("Link"); l != "" {
			url = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	return ids
}
