package gitlabsim

import (
	"sync"
	"time"
)

// rateLimiter is GitLab's ApplicationRateLimiter as used by the project jobs
// list (:jobs_index, per user): a counter per caller per period, the period
// aligned to the clock minute like GitLab's cache keys. Only the current
// window is kept per caller, so memory stays bounded by the number of
// callers.
type rateLimiter struct {
	mu      sync.Mutex
	limit   int // requests per minute; <= 0: off
	windows map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

func newRateLimiter(limit int) *rateLimiter {
	return &rateLimiter{limit: limit, windows: map[string]*rateWindow{}}
}

// allow counts one request by key and reports whether it is within the
// limit, and when the window resets.
func (l *rateLimiter) allow(key string, now time.Time) (ok bool, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit <= 0 {
		return true, time.Time{}
	}
	start := now.Truncate(time.Minute)
	w := l.windows[key]
	if w == nil || !w.start.Equal(start) {
		w = &rateWindow{start: start}
		l.windows[key] = w
	}
	w.count++
	return w.count <= l.limit, start.Add(time.Minute)
}

func (l *rateLimiter) setLimit(limit int) {
	l.mu.Lock()
	l.limit = limit
	l.mu.Unlock()
}

func (l *rateLimiter) getLimit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

func (l *rateLimiter) reset() {
	l.mu.Lock()
	l.windows = map[string]*rateWindow{}
	l.mu.Unlock()
}
