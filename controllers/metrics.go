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

package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// actionsTotal counts JobAction outcomes.
	actionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jobops_jobaction_actions_total",
		Help: "JobAction outcomes by action (Retry, Play, Cancel, Erase) and outcome: accepted (GitLab took the call), adopted (GitLab showed a claimed call had happened), already-done (an earlier JobAction of the same name and spec had done it), complete, failed.",
	}, []string{"action", "outcome"})
	// watchActionsTotal counts JobWatch actions per watch and rule: bounded by
	// the number of watches times their rules (at most 32), and deleted with
	// the watch.
	watchActionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jobops_jobwatch_actions_total",
		Help: "JobWatch actions by watch (namespace, jobwatch), rule, action and outcome (Succeeded, Adopted, Refused, DryRun).",
	}, []string{"namespace", "jobwatch", "rule", "action", "outcome"})
	syncDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "jobops_jobwatch_sync_duration_seconds",
		Help:    "Duration of JobWatch syncs that completed.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	// syncLag's buckets start at a millisecond: a sync on time starts within a
	// few of its slot.
	syncLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "jobops_jobwatch_sync_lag_seconds",
		Help:    "How late JobWatch syncs started: actual minus scheduled start, for syncs that were due (not asked for, nor for a changed spec).",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
	})
	eventToSync = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "jobops_webhook_event_to_sync_seconds",
		Help:    "Time from receiving a GitLab webhook event to the start of the JobWatch sync it caused.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	})
	jobsScanned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "jobops_jobwatch_jobs_scanned_total",
		Help: "Jobs (and trigger jobs) read by JobWatch syncs.",
	})
)

func init() {
	metrics.Registry.MustRegister(actionsTotal, watchActionsTotal, syncDuration, syncLag, eventToSync, jobsScanned)
}

// forgetWatchMetrics deletes a deleted watch's series.
func forgetWatchMetrics(key types.NamespacedName) {
	watchActionsTotal.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "jobwatch": key.Name})
}
