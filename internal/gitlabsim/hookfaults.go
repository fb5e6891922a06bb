package gitlabsim

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// HookFaults are failures injected into webhook deliveries, for testing a
// receiver against what networks and GitLab's job queue do to them.
//
// A delivery matches when its hook is in HookIDs (any, if empty) and its
// event (X-Gitlab-Event: "Job Hook" or "Pipeline Hook") is in Events (any,
// if empty). Each matching delivery, decided when its event happens:
//
//  1. with probability DropRate, is never sent;
//  2. otherwise waits DelayMS before it is sent; deliveries to a hook are
//     sent one at a time, in order, so a delay holds back the ones behind
//     it too (a slow queue);
//  3. with probability DuplicateRate, is sent twice in a row (same event
//     and Idempotency-Key, a new X-Gitlab-Webhook-UUID, as when GitLab
//     redelivers);
//  4. with probability ReorderRate, is held back and sent after the next
//     delivery to the same hook (or after a second, if none comes).
//
// Count limits the fault to the next Count matching deliveries; 0 means no
// limit. The dice come from a generator seeded with Seed, drawn in the order
// the events happen, so a run meets the same faults each time.
type HookFaults struct {
	DropRate      float64  `json:"drop_rate"`
	DelayMS       int      `json:"delay_ms"`
	DuplicateRate float64  `json:"duplicate_rate"`
	ReorderRate   float64  `json:"reorder_rate"`
	Seed          int64    `json:"seed"`
	HookIDs       []int64  `json:"hook_ids,omitempty"`
	Events        []string `json:"events,omitempty"`
	Count         int      `json:"count,omitempty"`
}

// Webhook event names, as X-Gitlab-Event carries them.
const (
	EventJobHook      = "Job Hook"
	EventPipelineHook = "Pipeline Hook"
)

func (f *HookFaults) normalize() error {
	for _, r := range []float64{f.DropRate, f.DuplicateRate, f.ReorderRate} {
		if r < 0 || r > 1 {
			return invalidf("drop_rate, duplicate_rate and reorder_rate: want 0..1")
		}
	}
	if f.DelayMS < 0 || f.DelayMS > 600_000 {
		return invalidf("delay_ms %d: want 0..600000", f.DelayMS)
	}
	if f.Count < 0 {
		return invalidf("count %d: want 0 (no limit) or more", f.Count)
	}
	for _, e := range f.Events {
		if e != EventJobHook && e != EventPipelineHook {
			return invalidf("event %q: want %q or %q", e, EventJobHook, EventPipelineHook)
		}
	}
	f.HookIDs = slices.Clone(f.HookIDs)
	f.Events = slices.Clone(f.Events)
	return nil
}

// HookFaultState is the current hook fault configuration.
type HookFaultState struct {
	Active bool       `json:"active"`
	Faults HookFaults `json:"faults"`
	// Remaining is how many matching deliveries the fault still applies to
	// when Faults.Count is set.
	Remaining int `json:"remaining"`
}

// hookFate is what the faults decided for one delivery.
type hookFate struct {
	drop, duplicate, reorder bool
	delay                    time.Duration
}

type hookFaultInjector struct {
	mu        sync.Mutex
	active    bool
	f         HookFaults
	remaining int
	rng       *rand.Rand
}

func (fi *hookFaultInjector) set(f HookFaults) error {
	if err := f.normalize(); err != nil {
		return err
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f, fi.active, fi.remaining = f, true, f.Count
	fi.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x5bd1e995))
	return nil
}

func (fi *hookFaultInjector) clear() {
	fi.mu.Lock()
	fi.active, fi.f = false, HookFaults{}
	fi.mu.Unlock()
}

func (fi *hookFaultInjector) state() HookFaultState {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return HookFaultState{Active: fi.active, Faults: fi.f, Remaining: fi.remaining}
}

func (fi *hookFaultInjector) decide(hookID int64, event string) hookFate {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if !fi.active {
		return hookFate{}
	}
	f := &fi.f
	if (len(f.HookIDs) > 0 && !slices.Contains(f.HookIDs, hookID)) || (len(f.Events) > 0 && !slices.Contains(f.Events, event)) {
		return hookFate{}
	}
	if f.Count > 0 {
		if fi.remaining <= 0 {
			return hookFate{}
		}
		fi.remaining--
	}
	roll := func(p float64) bool { return p > 0 && fi.rng.Float64() < p }
	if roll(f.DropRate) {
		return hookFate{drop: true}
	}
	return hookFate{
		delay:     time.Duration(f.DelayMS) * time.Millisecond,
		duplicate: roll(f.DuplicateRate),
		reorder:   roll(f.ReorderRate),
	}
}

// SetHookFaults replaces the injected webhook faults; see HookFaults.
func (s *Server) SetHookFaults(f HookFaults) error { return s.sender.faults.set(f) }

// ClearHookFaults removes the injected webhook faults.
func (s *Server) ClearHookFaults() { s.sender.faults.clear() }

// HookFaultState returns the injected webhook faults and how many deliveries
// they still apply to.
func (s *Server) HookFaultState() HookFaultState { return s.sender.faults.state() }
