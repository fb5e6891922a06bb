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

func TestNextSyncAddsUpToATenth(t *testing.T) {
	interval := time.Minute
	for i := range 1000 {
		key := "ns/watch-" + strconv.Itoa(i)
		got := NextSync(interval, key)
		if got < interval || got > interval+interval/10 {
			t.Fatalf("NextSync(%v, %q) = %v", interval, key, got)
		}
		if got != NextSync(interval, key) {
			t.Fatal("not deterministic")
		}
	}
	if NextSync(0, "x") != 0 || NextSync(-time.Second, "x") != -time.Second {
		t.Error("a non-positive interval must come back as is")
	}
	if got := NextSync(time.Duration(1<<62), "x"); got < time.Duration(1<<62) {
		t.Errorf("huge interval overflowed: %v", got)
	}
}
