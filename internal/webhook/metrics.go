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

package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Outcomes of a delivery, the values of the outcome label.
const (
	outcomeAccepted     = "accepted"     // it concerned at least one object
	outcomeIgnored      = "ignored"      // an event not used, or a project nobody watches
	outcomeUnauthorized = "unauthorized" // no or wrong X-Gitlab-Token
	outcomeNotFound     = "not_found"    // a path no connection publishes
	outcomeTooLarge     = "too_large"    // a body over 1 MiB
	outcomeMalformed    = "malformed"    // not the payload its header names, or not a POST
	outcomeError        = "error"        // the receiver could not tell (the API server failed)
)

// MetricEvents counts deliveries by kind and outcome.
const MetricEvents = "jobops_webhook_events_total"

var eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: MetricEvents,
	Help: "GitLab webhook deliveries received, by kind (Job, Pipeline, Other) and outcome (accepted, ignored, unauthorized, not_found, too_large, malformed, error).",
}, []string{"kind", "outcome"})

func init() {
	metrics.Registry.MustRegister(eventsTotal)
}
