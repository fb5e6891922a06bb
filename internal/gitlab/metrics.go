package gitlab

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metric names, exported so dashboards and tests agree with the code.
const (
	// MetricRequests counts HTTP requests to GitLab (each attempt).
	MetricRequests = "gitlab_requests_total"
	// MetricRequestDuration is the time to a response's headers.
	MetricRequestDuration = "gitlab_request_duration_seconds"
	// MetricLimiterWait is the time a request waited for the connection's
	// rate limiter (requestsPerSecond, burst) before it was sent.
	MetricLimiterWait = "gitlab_rate_limiter_wait_seconds"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRequests,
		Help: "HTTP requests made to GitLab, every attempt counted, by connection, endpoint template, method and status code (\"error\" when no response arrived).",
	}, []string{"connection", "endpoint", "method", "code"})

	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricRequestDuration,
		Help:    "Time from sending a request to GitLab to receiving its response headers, by connection, endpoint template and method.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"connection", "endpoint", "method"})

	limiterWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricLimiterWait,
		Help:    "Time a request to GitLab waited for its connection's rate limiter (spec.requestsPerSecond, spec.burst), by connection.",
		Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"connection"})
)

func init() {
	// controller-runtime serves this registry on the manager's metrics
	// endpoint, next to its own metrics.
	metrics.Registry.MustRegister(requestsTotal, requestDuration, limiterWait)
}

// forgetMetrics drops the series of a deleted connection, so they do not
// linger for the life of the process.
func forgetMetrics(connection string) {
	l := prometheus.Labels{"connection": connection}
	requestsTotal.DeletePartialMatch(l)
	requestDuration.DeletePartialMatch(l)
	limiterWait.DeletePartialMatch(l)
}
