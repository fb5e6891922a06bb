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
	"cmp"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/webhook"
)

// Options configure the controllers. The zero value is the default of each.
type Options struct {
	// ConnectionRecheckInterval is how often a Ready connection is checked again.
	ConnectionRecheckInterval time.Duration
	// JobActionWorkers and JobWatchWorkers are how many objects of each kind are
	// reconciled at once. Each object is still handled by one worker at a time.
	JobActionWorkers, JobWatchWorkers int
	// MinRetryDelay and MaxRetryDelay bound the exponential backoff of a pass
	// that failed with a transient error (GitLab 5xx, the API server).
	MinRetryDelay, MaxRetryDelay time.Duration
	// RecordRetention is how long a JobActionRecord is kept after its JobAction
	// is gone: an identical JobAction applied again within it finds its action
	// done.
	RecordRetention time.Duration
	// Identity names this manager process in the claims it makes; two processes
	// must not share one. Default: host name and process id.
	Identity string
	// GitLab hands out the GitLab clients; default gitlab.NewClients(). Tests
	// may give fakes.
	GitLab gitlab.Provider
	// Clock is the controllers' time source; default the real clock.
	Clock clock.PassiveClock
	// Scope is what this manager reconciles (its namespaces and shard); the
	// manager's cache must be limited to it too (Scope.CacheOptions).
	Scope Scope
	// WebhookAddr is where the GitLab webhook receiver listens (":9292");
	// empty: no receiver. WebhookCertDir, when set, holds its tls.crt and
	// tls.key.
	WebhookAddr, WebhookCertDir string
}

func (o Options) withDefaults() Options {
	o.ConnectionRecheckInterval = cmp.Or(o.ConnectionRecheckInterval, 5*time.Minute)
	o.JobActionWorkers = cmp.Or(o.JobActionWorkers, 8)
	o.JobWatchWorkers = cmp.Or(o.JobWatchWorkers, 4)
	o.MinRetryDelay = cmp.Or(o.MinRetryDelay, time.Second)
	o.MaxRetryDelay = cmp.Or(o.MaxRetryDelay, 5*time.Minute)
	o.RecordRetention = cmp.Or(o.RecordRetention, 30*24*time.Hour)
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = fmt.Sprintf("%s_%d", host, os.Getpid())
	}
	if o.GitLab == nil {
		o.GitLab = gitlab.NewClients()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// SetupAll registers every controller with the manager. They share one GitLab
// client provider, so each connection has one client and one rate limiter.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	opts = opts.withDefaults()
	conns := connections{client: mgr.GetClient(), secrets: newSecretReader(mgr.GetClient(), mgr.GetAPIReader()), gitlab: opts.GitLab}
	controllerOpts := controller.Options{RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](opts.MinRetryDelay, opts.MaxRetryDelay)}
	if err := (&GitLabConnectionReconciler{
		connections:      conns,
		Recorder:         mgr.GetEventRecorder("gitlabconnection-controller"),
		APIReader:        mgr.GetAPIReader(),
		Clock:            opts.Clock,
		RecheckInterval:  opts.ConnectionRecheckInterval,
		Scope:            opts.Scope,
		ReceivesWebhooks: opts.WebhookAddr != "",
	}).SetupWithManager(mgr, controllerOpts); err != nil {
		return err
	}
	actions := &JobActionReconciler{
		connections: conns,
		records:     &actionRecords{client: mgr.GetClient(), apiReader: mgr.GetAPIReader(), known: mgr.GetCache(), claimant: opts.Identity},
		Recorder:    mgr.GetEventRecorder("jobaction-controller"),
		APIReader:   mgr.GetAPIReader(),
		Clock:       opts.Clock,
		Workers:     opts.JobActionWorkers,
	}
	if err := actions.SetupWithManager(mgr, controllerOpts); err != nil {
		return err
	}
	watches := &JobWatchReconciler{
		connections: conns,
		Recorder:    mgr.GetEventRecorder("jobwatch-controller"),
		APIReader:   mgr.GetAPIReader(),
		Clock:       opts.Clock,
		Workers:     opts.JobWatchWorkers,
		claimant:    opts.Identity,
	}
	if err := watches.SetupWithManager(mgr, controllerOpts); err != nil {
		return err
	}
	if err := registerStateMetrics(&stateCollector{client: mgr.GetClient(), scope: opts.Scope, watches: watches, elected: mgr.Elected()}); err != nil {
		return err
	}
	if opts.WebhookAddr != "" {
		router := &hookRouter{client: mgr.GetClient(), secrets: conns.secrets, watches: watches, actions: actions}
		receiver := webhook.NewReceiver(opts.WebhookAddr, opts.WebhookCertDir, router.resolve, router.dispatch)
		if err := mgr.Add(receiver); err != nil {
			return err
		}
		if err := mgr.AddHealthzCheck("webhook", receiver.Check); err != nil {
			return err
		}
	}
	return mgr.Add(&recordSweeper{client: mgr.GetClient(), apiReader: mgr.GetAPIReader(), clock: opts.Clock, scope: opts.Scope,
		retention: opts.RecordRetention, every: min(max(opts.RecordRetention/4, time.Second), 10*time.Minute)})
}
