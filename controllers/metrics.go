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
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// actionsTotal counts JobAction outcomes: accepted (GitLab took the call),
// adopted (GitLab showed it had already happened), complete and failed.
var actionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "jobops_jobaction_actions_total",
	Help: "JobAction outcomes by action (Retry, Play, Cancel, Erase) and outcome (accepted, adopted, complete, failed).",
}, []string{"action", "outcome"})

func init() {
	metrics.Registry.MustRegister(actionsTotal)
}

var (
	watchActionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jobops_jobwatch_actions_total",
		Help: "JobWatch actions by rule, action and outcome (Succeeded, Adopted, Refused, DryRun).",
	}, []string{"rule", "action", "outcome"})
	syncDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "jobops_jobwatch_sync_duration_seconds",
		Help:    "Duration of JobWatch syncs that completed.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	jobsScanned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "jobops_jobwatch_jobs_scanned_total",
		Help: "Jobs (and trigger jobs) read by JobWatch syncs.",
	})
)

func init() {
	metrics.Registry.MustRegister(watchActionsTotal, syncDuration, jobsScanned)
}
