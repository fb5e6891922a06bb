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

// NextSync is when to sync a watch next: interval plus up to 10% of it
// (interval * JitterFor(key)). With key the watch's namespace/name, many
// watches with the same interval, started together (after a manager
// restart), spread over a tenth of their interval instead of hitting GitLab
// in the same second, while each keeps a steady period. A non-positive
// interval is returned as is.
func NextSync(interval time.Duration, key string) time.Duration {
	if interval <= 0 {
		return interval
	}
	extra := time.Duration(float64(interval) * JitterFor(key))
	if extra < 0 || interval > math.MaxInt64-extra {
		return math.MaxInt64
	}
	return interval + extra
}
