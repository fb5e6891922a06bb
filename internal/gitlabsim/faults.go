package gitlabsim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Faults are failures injected into /api/v4 requests (never into the admin
// API), for testing how a client copes with a flaky GitLab.
//
// A request matches when its method is in Methods (any, if empty), its
// route template is in Routes (any, if empty) and the project its path
// names is in Projects (any, if empty). Each matching request, in
// order:
//
//  1. waits LatencyMS;
//  2. with probability ErrorRate, is answered ErrorStatus (default 502)
//     without being performed;
//  3. otherwise, with probability LoseResponseRate, is performed (the retry
//     or cancel happens) and then answered 502, as if the response was lost
//     on the way back: the case that makes a client retry a mutation that
//     already took effect.
//
// Count limits the fault to the next Count matching requests (each matching
// request uses one, whether or not the dice injected anything); 0 means no
// limit. For example, to lose the response of the first retry call only:
//
//	Faults{LoseResponseRate: 1, Count: 1,
//		Routes: []string{"POST /api/v4/projects/:id/jobs/:job_id/retry"}}
//
// The dice come from a generator seeded with Seed, so a sequence of requests
// meets the same faults on every run.
type Faults struct {
	LatencyMS        int      `json:"latency_ms"`
	ErrorRate        float64  `json:"error_rate"`
	ErrorStatus      int      `json:"error_status"`
	LoseResponseRate float64  `json:"lose_response_rate"`
	Seed             int64    `json:"seed"`
	Methods          []string `json:"methods,omitempty"`
	Routes           []string `json:"routes,omitempty"`
	// Projects limits the fault to requests whose path names one of these
	// projects as the client named it: its numeric id or its full path (any
	// request, if empty). A test that shares a simulator with others gives
	// its own project, so that nobody else's request uses up Count.
	Projects []string `json:"projects,omitempty"`
	Count    int      `json:"count,omitempty"`
}

func (f *Faults) normalize() error {
	if f.LatencyMS < 0 || f.LatencyMS > 600_000 {
		return invalidf("latency_ms %d: want 0..600000", f.LatencyMS)
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 || f.LoseResponseRate < 0 || f.LoseResponseRate > 1 {
		return invalidf("error_rate and lose_response_rate: want 0..1")
	}
	if f.ErrorStatus == 0 {
		f.ErrorStatus = http.StatusBadGateway
	}
	if f.ErrorStatus < 400 || f.ErrorStatus > 599 {
		return invalidf("error_status %d: want 400..599", f.ErrorStatus)
	}
	if f.Count < 0 {
		return invalidf("count %d: want 0 (no limit) or more", f.Count)
	}
	f.Methods = slices.Clone(f.Methods) // the caller's slice stays as given
	f.Routes = slices.Clone(f.Routes)
	f.Projects = slices.Clone(f.Projects)
	for i, m := range f.Methods {
		f.Methods[i] = strings.ToUpper(m)
	}
	return nil
}

// FaultState is the current fault configuration, as GET /-/sim/faults shows.
type FaultState struct {
	Active bool   `json:"active"`
	Faults Faults `json:"faults"`
	// Remaining is how many matching requests the fault still applies to
	// when Faults.Count is set.
	Remaining int `json:"remaining"`
}

type faultInjector struct {
	mu        sync.Mutex
	active    bool
	f         Faults
	remaining int
	rng       *rand.Rand
}

func (fi *faultInjector) set(f Faults) error {
	if err := f.normalize(); err != nil {
		return err
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f = f
	fi.active = true
	fi.remaining = f.Count
	fi.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x9e3779b97f4a7c15))
	return nil
}

func (fi *faultInjector) clear() {
	fi.mu.Lock()
	fi.active = false
	fi.f = Faults{}
	fi.mu.Unlock()
}

func (fi *faultInjector) state() FaultState {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return FaultState{Active: fi.active, Faults: fi.f, Remaining: fi.remaining}
}

type faultDecision struct {
	latency     time.Duration
	errorStatus int  // non-zero: answer this without performing
	lose        bool // perform, then answer 502
}

// decide rolls the dice for one request, under the lock so that concurrent
// requests draw a well-defined sequence.
func (fi *faultInjector) decide(method, route, project string) faultDecision {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if !fi.active {
		return faultDecision{}
	}
	f := &fi.f
	if len(f.Methods) > 0 && !slices.Contains(f.Methods, method) {
		return faultDecision{}
	}
	if len(f.Routes) > 0 && !slices.Contains(f.Routes, route) {
		return faultDecision{}
	}
	if len(f.Projects) > 0 && !slices.Contains(f.Projects, project) {
		return faultDecision{}
	}
	if f.Count > 0 {
		if fi.remaining <= 0 {
			return faultDecision{}
		}
		fi.remaining--
	}
	d := faultDecision{latency: time.Duration(f.LatencyMS) * time.Millisecond}
	if f.ErrorRate > 0 && fi.rng.Float64() < f.ErrorRate {
		d.errorStatus = f.ErrorStatus
	} else if f.LoseResponseRate > 0 && fi.rng.Float64() < f.LoseResponseRate {
		d.lose = true
	}
	return d
}

// writeFault answers as the proxy in front of GitLab would: a 429 like Rack
// Attack's throttle (text body, rate limit headers), other codes with a
// short text body.
func writeFault(w http.ResponseWriter, status int, now time.Time) {
	if status == http.StatusTooManyRequests {
		setRateLimitHeaders(w.Header(), "throttle_authenticated_api", 1, now.Add(time.Second), now)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("Retry later\n"))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%d %s\n", status, http.StatusText(status))
}

// discardWriter swallows the real response of a request whose response is
// "lost".
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
