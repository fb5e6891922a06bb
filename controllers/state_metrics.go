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
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// stateCollector reports, at each scrape, what the alerts watch for: whether
// each GitLabConnection is Ready, whether each JobWatch is stalled or
// suspended, its interval, and when it last synced. It reads the manager's
// cache (and, for the last sync, this process's memory: a quiet sync writes
// no status), so the gauges cost nothing between scrapes and go with their
// objects. Only the leader reports: every replica caches, one acts.
type stateCollector struct {
	client  client.Reader
	scope   Scope
	watches *JobWatchReconciler
	elected <-chan struct{}
}

var (
	connectionReadyDesc = prometheus.NewDesc("jobops_gitlabconnection_ready",
		"1 when the GitLabConnection's Ready condition is True, else 0.", []string{"namespace", "gitlabconnection"}, nil)
	watchStalledDesc = prometheus.NewDesc("jobops_jobwatch_stalled",
		"1 when the JobWatch is Stalled (its rules cannot work until the spec changes), else 0.", []string{"namespace", "jobwatch"}, nil)
	watchSuspendedDesc = prometheus.NewDesc("jobops_jobwatch_suspended",
		"1 when the JobWatch's spec.suspend is true, else 0.", []string{"namespace", "jobwatch"}, nil)
	watchIntervalDesc = prometheus.NewDesc("jobops_jobwatch_interval_seconds",
		"The JobWatch's spec.intervalSeconds.", []string{"namespace", "jobwatch"}, nil)
	watchLastSyncDesc = prometheus.NewDesc("jobops_jobwatch_last_sync_timestamp_seconds",
		"Unix time of the JobWatch's last sync, or of its creation before its first.", []string{"namespace", "jobwatch"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connectionReadyDesc, watchStalledDesc, watchSuspendedDesc, watchIntervalDesc, watchLastSyncDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-c.elected:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var conns civ1alpha1.GitLabConnectionList
	if err := c.client.List(ctx, &conns); err == nil {
		for i := range conns.Items {
			conn := &conns.Items[i]
			if c.scope.owns(conn) {
				ch <- gauge(connectionReadyDesc, isTrue(conn.Status.Conditions, civ1alpha1.ConditionReady), conn.Namespace, conn.Name)
			}
		}
	}
	var watches civ1alpha1.JobWatchList
	if err := c.client.List(ctx, &watches); err != nil {
		return
	}
	for i := range watches.Items {
		jw := &watches.Items[i]
		ch <- gauge(watchStalledDesc, isTrue(jw.Status.Conditions, civ1alpha1.ConditionStalled), jw.Namespace, jw.Name)
		ch <- gauge(watchSuspendedDesc, jw.Spec.Suspend, jw.Namespace, jw.Name)
		ch <- prometheus.MustNewConstMetric(watchIntervalDesc, prometheus.GaugeValue, float64(jw.Spec.IntervalSeconds), jw.Namespace, jw.Name)
		last := c.watches.lastSyncOf(jw)
		if last.IsZero() {
			last = jw.CreationTimestamp.Time
		}
		ch <- prometheus.MustNewConstMetric(watchLastSyncDesc, prometheus.GaugeValue, float64(last.UnixNano())/1e9, jw.Namespace, jw.Name)
	}
}

func gauge(desc *prometheus.Desc, on bool, labels ...string) prometheus.Metric {
	v := 0.0
	if on {
		v = 1
	}
	return prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
}

// registerStateMetrics registers the collector on controller-runtime's
// registry, replacing one an earlier manager of this process registered.
func registerStateMetrics(c *stateCollector) error {
	err := metrics.Registry.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		metrics.Registry.Unregister(already.ExistingCollector)
		err = metrics.Registry.Register(c)
	}
	return err
}
