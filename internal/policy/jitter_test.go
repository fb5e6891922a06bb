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

package policy

import (
	"strconv"
	"testing"
	"time"
)

func TestJitterForIsDeterministicAndInRange(t *testing.T) {
	const n = 20000
	var sum float64
	seen := map[float64]bool{}
	for i := range n {
		key := strconv.Itoa(1_000_000 + i) // consecutive job ids
		j := JitterFor(key)
		if j < 0 || j >= MaxJitter {
			t.Fatalf("JitterFor(%q) = %v, out of [0, 0.1)", key, j)
		}
		if j != JitterFor(key) {
			t.Fatalf("JitterFor(%q) not deterministic", key)
		}
		sum += j
		seen[j] = true
	}
	if mean := sum / n; mean < 0.045 || mean > 0.055 {
		t.Errorf("mean jitter %v: consecutive ids are not spread over [0, 0.1)", mean)
	}
	if len(seen) < n*99/100 {
		t.Errorf("only %d distinct jitters for %d keys", len(seen), n)
	}
	// Buckets: every tenth of the range gets some keys.
	var buckets [10]int
	for i := range n {
		buckets[int(JitterFor(strconv.Itoa(i))/MaxJitter*10)]++
	}
	for b, c := range buckets {
		if c < n/20 {
			t.Errorf("bucket %d has %d of %d keys", b, c, n)
		}
	}
	if JitterFor("") < 0 || JitterFor("") >= MaxJitter {
		t.Error("empty key out of range")
	}
}

func TestNextSyncAtKeepsEachWatchOnItsGridAndSpreadsWatchesOverTheInterval(t *testing.T) {
	interval := time.Minute
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	var slots [6]int // watches per 10-second slice of the minute
	for i := range 1200 {
		key := "ns/watch-" + strconv.Itoa(i)
		next := NextSyncAt(now, interval, key)
		if d := next.Sub(now); d < interval/2 || d >= interval*3/2 {
			t.Fatalf("%s: next sync %s after now, want within [interval/2, 3*interval/2)", key, d)
		}
		// On the grid: late or early, the sync after keeps the phase.
		for _, late := range []time.Duration{0, 7 * time.Second, 25 * time.Second} {
			if again := NextSyncAt(next.Add(late), interval, key); again.Sub(next) != interval {
				t.Fatalf("%s: a sync %s late is followed %s after its slot, want the interval", key, late, again.Sub(next))
			}
		}
		slots[next.Sub(now.Truncate(interval)).Nanoseconds()%int64(interval)/int64(10*time.Second)]++
	}
	for i, n := range slots {
		if n < 120 || n > 280 {
			t.Errorf("slice %d of the minute holds %d of 1200 watches, want about 200: %v", i, n, slots)
		}
	}
	if got := NextSyncAt(now, 0, "x"); !got.Equal(now) {
		t.Errorf("a zero interval gives %s, want now", got)
	}
	if got := NextSyncAt(now, 24*time.Hour, "x"); got.Sub(now) < 12*time.Hour || got.Sub(now) >= 36*time.Hour {
		t.Errorf("a day's interval gives %s", got.Sub(now))
	}
}

func TestFirstSyncDelaySpreadsNewWatchesOverTheSmallerOfIntervalAndSpread(t *testing.T) {
	var maxDelay time.Duration
	for i := range 1000 {
		key := "ns/watch-" + strconv.Itoa(i)
		d := FirstSyncDelay(time.Hour, time.Minute, key)
		if d < 0 || d >= time.Minute {
			t.Fatalf("%s: first sync after %s, want within a minute", key, d)
		}
		maxDelay = max(maxDelay, d)
		if short := FirstSyncDelay(10*time.Second, time.Minute, key); short >= 10*time.Second {
			t.Fatalf("%s: a 10 s watch waits %s for its first sync", key, short)
		}
	}
	if maxDelay < 50*time.Second {
		t.Errorf("1000 watches start within %s of a minute: not spread", maxDelay)
	}
	if FirstSyncDelay(time.Minute, 0, "x") != 0 {
		t.Error("no spread must mean no delay")
	}
}
