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

// Command manager runs the gitlab-job-operator: the controllers of
// GitLabConnection, JobAction and JobWatch.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/controllers"
)

func main() {
	var (
		metricsAddr, probeAddr string
		secureMetrics          bool
		leaderElect            bool
		leaderElectionNS       string
		leaderElectionID       string
		recheck                time.Duration
		actionWorkers          int
		watchWorkers           int
		namespaces             string
		selector               string
		retention              time.Duration
		minRetry, maxRetry     time.Duration
		webhookAddr            string
		webhookCertDir         string
		identity               string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP, 0 to disable).")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes (0 to disable).")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one replica acts on GitLab at a time.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's own).")
	flag.DurationVar(&recheck, "connection-recheck-interval", 5*time.Minute, "How often a Ready GitLabConnection is checked again.")
	flag.IntVar(&actionWorkers, "jobaction-workers", 8, "JobActions reconciled at once.")
	flag.IntVar(&watchWorkers, "jobwatch-workers", 4, "JobWatches synced at once.")
	flag.StringVar(&leaderElectionID, "leader-election-id", "", "Name of the leader election Lease (default: one per scope, so each shard elects its own leader).")
	flag.StringVar(&namespaces, "watch-namespaces", "", "Comma-separated namespaces to reconcile (default: all).")
	flag.StringVar(&selector, "watch-label-selector", "", "Reconcile only the JobWatches, JobActions and GitLabConnections whose labels match, "+
		"e.g. "+controllers.ShardLabel+"=shard1 for a shard and '!"+controllers.ShardLabel+"' for the main manager (default: all).")
	flag.DurationVar(&retention, "jobaction-record-retention", 30*24*time.Hour, "How long a JobActionRecord is kept after its JobAction is gone: an identical JobAction applied again within it does not act again.")
	flag.DurationVar(&minRetry, "min-retry-delay", time.Second, "First wait after a transient failure (GitLab 5xx, the API server); it doubles each time.")
	flag.DurationVar(&maxRetry, "max-retry-delay", 5*time.Minute, "Longest wait after transient failures.")
	flag.StringVar(&identity, "identity", "", "Names this manager in the claims it writes before each GitLab call; two processes running at once must not share one. "+
		"A restarted process with the same identity resumes its own claims at once instead of waiting out their timeout (default: host name and process id, so a pod's restarted container keeps it).")
	flag.StringVar(&webhookAddr, "webhook-bind-address", ":9292", "Address of the GitLab webhook receiver, plain HTTP unless --webhook-cert-dir is set (0 to disable).")
	flag.StringVar(&webhookCertDir, "webhook-cert-dir", "", "Directory with tls.crt and tls.key for the webhook receiver to serve HTTPS (reloaded when they change).")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(civ1alpha1.AddToScheme(scheme))

	metricsOpts := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		// HTTP/2 is off: it exposes the server to the HTTP/2 Rapid Reset and
		// Stream Cancellation attacks (CVE-2023-44487, CVE-2023-39325).
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	scope, err := parseScope(namespaces, selector)
	if err != nil {
		log.Error(err, "Invalid scope")
		os.Exit(2)
	}
	if leaderElectionID == "" {
		leaderElectionID = scope.LeaderElectionID("gitlab-job-operator.ci.jobops.dev")
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Cache:                         scope.CacheOptions(),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}
	if err := controllers.SetupAll(mgr, controllers.Options{
		ConnectionRecheckInterval: recheck, JobActionWorkers: actionWorkers, JobWatchWorkers: watchWorkers,
		RecordRetention: retention, MinRetryDelay: minRetry, MaxRetryDelay: maxRetry, Scope: scope,
		WebhookAddr: disabledIfZero(webhookAddr), WebhookCertDir: webhookCertDir, Identity: identity,
	}); err != nil {
		log.Error(err, "Unable to set up the controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to add the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "Unable to add the ready check")
		os.Exit(1)
	}
	log.Info("Starting the manager", "namespaces", scope.Namespaces, "selector", selector, "leaderElectionID", leaderElectionID)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// parseScope reads --watch-namespaces and --watch-label-selector.
func parseScope(namespaces, selector string) (controllers.Scope, error) {
	var scope controllers.Scope
	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			scope.Namespaces = append(scope.Namespaces, ns)
		}
	}
	if selector != "" {
		sel, err := labels.Parse(selector)
		if err != nil {
			return scope, fmt.Errorf("--watch-label-selector %q: %w", selector, err)
		}
		scope.Selector = sel
	}
	return scope, nil
}

// disabledIfZero turns the "0" that disables a listener into "".
func disabledIfZero(addr string) string {
	if addr == "0" {
		return ""
	}
	return addr
}
