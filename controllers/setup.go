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
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// Options configure the controllers.
type Options struct {
	// ConnectionRecheckInterval is how often a Ready connection is checked again.
	ConnectionRecheckInterval time.Duration
	// JobActionWorkers and JobWatchWorkers are how many objects of each kind are
	// reconciled at once. Each object is still handled by one worker at a time.
	JobActionWorkers, JobWatchWorkers int
}

// SetupAll registers every controller with the manager. They share one GitLab
// client cache, so each connection has one client and one rate limiter.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	if opts.ConnectionRecheckInterval == 0 {
		opts.ConnectionRecheckInterval = 5 * time.Minute
	}
	opts.JobActionWorkers = cmp.Or(opts.JobActionWorkers, 8)
	opts.JobWatchWorkers = cmp.Or(opts.JobWatchWorkers, 4)
	conns := connections{client: mgr.GetClient(), secrets: newSecretReader(mgr.GetClient(), mgr.GetAPIReader()), clients: gitlab.NewClients()}
	if err := (&GitLabConnectionReconciler{
		connections:     conns,
		Recorder:        mgr.GetEventRecorder("gitlabconnection-controller"),
		RecheckInterval: opts.ConnectionRecheckInterval,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&JobActionReconciler{
		connections: conns,
		Recorder:    mgr.GetEventRecorder("jobaction-controller"),
		Fresh:       mgr.GetAPIReader(),
		Now:         time.Now,
		Workers:     opts.JobActionWorkers,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&JobWatchReconciler{
		connections: conns,
		Recorder:    mgr.GetEventRecorder("jobwatch-controller"),
		Fresh:       mgr.GetAPIReader(),
		Now:         time.Now,
		Workers:     opts.JobWatchWorkers,
	}).SetupWithManager(mgr)
}
