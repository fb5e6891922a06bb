package gitlab

import (
	"context"
	"sync/atomic"
)

// RequestCounter counts the HTTP requests (every attempt, retries included)
// made with a context, so a controller can report what one sync cost.
type RequestCounter struct {
	n atomic.Int64
}

// Count returns the number of requests made so far.
func (c *RequestCounter) Count() int64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}

type counterKey struct{}

// WithRequestCounter returns a context whose GitLab requests are counted by
// the returned counter. Nested counters each count.
func WithRequestCounter(ctx context.Context) (context.Context, *RequestCounter) {
	c := &RequestCounter{}
	parents, _ := ctx.Value(counterKey{}).([]*RequestCounter)
	all := make([]*RequestCounter, 0, len(parents)+1)
	all = append(append(all, parents...), c)
	return context.WithValue(ctx, counterKey{}, all), c
}

func countRequest(ctx context.Context) {
	counters, _ := ctx.Value(counterKey{}).([]*RequestCounter)
	for _, c := range counters {
		c.n.Add(1)
	}
}
