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
	"hash/fnv"
	"math"
	"time"
)

// JitterFor is a jitter fraction in [0, MaxJitter) derived from key (a job
// id, a watch's namespace/name). It is a hash, not a random draw, so every
// sync and every operator restart computes the same value for the same key:
// a backoff's end does not move each time it is looked at, yet different jobs
// spread out rather than retrying in lockstep.
func JitterFor(key string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	x := mix64(h.Sum64())
	// 53 random bits make a uniform float64 in [0, 1).
	j := float64(x>>11) / (1 << 53) * MaxJitter
	if j >= MaxJitter { // rounding at the very top
		j = math.Nextafter(MaxJitter, 0)
	}
	return j
}

// mix64 is SplitMix64's finalizer: FNV alone leaves keys that differ only in
// their last character (consecutive job ids) too close in the high bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Phase is a watch's place in its interval, in [0, 1), from key (its
// namespace/name): a hash, so every restart of every replica gives the same.
func Phase(key string) float64 { return JitterFor(key) / MaxJitter }

// NextSyncAt is when a watch that synced at now syncs next: the first instant
// of its grid at least half an interval after now. The grid is the instants
// Phase(key)*interval + k*interval since the Unix epoch.
//
// A grid keeps watches spread. With a period of interval plus a jitter of
// its own, each watch would run at a slightly different period: watches
// created together drift apart and back together, and a restart, which
// starts every due watch at once, would line them up again. On a grid, the
// watches of one interval fall evenly over it whenever they were created,
// restarted or delayed, and a late sync does not push the later ones back.
// Half an interval is the least gap after a sync that comes off the grid (a
// backoff ending, a sync request): the next one is the grid's, not a second
// sync a moment later. A non-positive interval gives now.
func NextSyncAt(now time.Time, interval time.Duration, key string) time.Time {
	if interval <= 0 {
		return now
	}
	iv := int64(interval)
	offset := int64(Phase(key) * float64(iv))
	earliest := now.Add(interval / 2).UnixNano()
	k := ceilDiv(earliest-offset, iv)
	return time.Unix(0, k*iv+offset).In(now.Location())
}

// FirstSyncDelay is how long after this process first sees a watch that is
// due (a new one, or one whose sync came due while no manager ran) it syncs:
// Phase(key) of the smaller of interval and maxSpread. A thousand watches
// applied together, or found overdue by a manager that starts, spread over
// that span instead of hitting GitLab in the same second; maxSpread bounds
// how long a new watch with a long interval waits for its first sync.
func FirstSyncDelay(interval, maxSpread time.Duration, key string) time.Duration {
	span := min(interval, maxSpread)
	if span <= 0 {
		return 0
	}
	return time.Duration(Phase(key) * float64(span))
}

// ceilDiv is a/b rounded up, for b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
