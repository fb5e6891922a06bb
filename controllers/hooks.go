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
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
	"github.com/jobops-dev/gitlab-job-operator/internal/webhook"
)

// This file connects GitLab's webhooks to the controllers: which connection a
// receiver path stands for, which JobWatches and JobActions an event
// concerns, and how they are woken. The receiver (internal/webhook) only
// verifies and parses; nothing here calls GitLab.

// Index fields for routing events.
const (
	webhookPathField  = ".status.webhookPath"
	watchProjectField = ".spec.projectKey"
	actionJobField    = ".status.jobKey"
)

// webhookPath is the receiver path of a connection: derived from its webhook
// token, so that it cannot be guessed, and from its name, so that two
// connections with one token still differ.
func webhookPath(namespace, name, token string) string {
	sum := sha256.Sum256([]byte(token + "\x00" + namespace + "\x00" + name))
	return webhook.PathPrefix + hex.EncodeToString(sum[:])
}

// projectKeys are the keys an event for a project is routed by, on a
// connection: its numeric id and its path (GitLab paths are case-insensitive).
func projectKeys(connection, project string, projectID int64) []string {
	var keys []string
	if id, err := strconv.ParseInt(project, 10, 64); err == nil {
		projectID = max(projectID, id)
	} else if project != "" {
		keys = append(keys, connection+"|path:"+strings.ToLower(project))
	}
	if projectID > 0 {
		keys = append(keys, connection+"|id:"+strconv.FormatInt(projectID, 10))
	}
	return keys
}

func jobKey(connection string, jobID int64) string {
	return connection + "|job:" + strconv.FormatInt(jobID, 10)
}

// queueHandle holds a controller's workqueue once the controller has started
// (on the leader only), so that an event can be queued directly.
type queueHandle struct {
	q atomic.Pointer[workqueue.TypedRateLimitingInterface[reconcile.Request]]
}

// source captures the controller's queue when the controller starts.
func (h *queueHandle) source() source.Source {
	return source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		h.q.Store(&q)
		return nil
	})
}

// coalesceEvents is how long a woken object waits before its pass, so that
// the events of a burst (a pipeline's jobs changing together) are answered
// by one pass: the workqueue keeps one entry per key, at its earliest time.
const coalesceEvents = 300 * time.Millisecond

// add queues key after the coalescing delay and says whether it could:
// false when the controller does not run in this process (it is not the
// leader).
func (h *queueHandle) add(key types.NamespacedName) bool {
	q := h.q.Load()
	if q == nil {
		return false
	}
	(*q).AddAfter(reconcile.Request{NamespacedName: key}, coalesceEvents)
	return true
}

// hookInbox remembers, per JobWatch, the events received since its last
// sync: a JobWatch with one pending syncs at once, and a burst of events for
// one watch makes one or two syncs (the workqueue merges the same key while
// it waits), not one each.
type hookInbox struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]hookMark
	// jobHooks is when each watch last had a Job Hook: while they come, a
	// Pipeline Hook says nothing about builds that they do not.
	jobHooks map[types.NamespacedName]time.Time
}

// jobHooksWindow is how recent a Job Hook must be for the Job Hooks of a
// project to be taken as arriving (the hook has Job events on).
const jobHooksWindow = 15 * time.Minute

// pipelineHookRedundant says a Pipeline Hook for the watch adds nothing:
// Job Hooks for its project arrive, and they describe every build (only
// trigger jobs have no Job Hook, so a watch whose rules match bridges
// still syncs on Pipeline Hooks).
func (b *hookInbox) pipelineHookRedundant(key types.NamespacedName, at time.Time, matchesBridges bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	last, ok := b.jobHooks[key]
	return ok && !matchesBridges && at.Sub(last) < jobHooksWindow
}

// forget drops what the inbox keeps for a deleted watch.
func (b *hookInbox) forget(key types.NamespacedName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pending, key)
	delete(b.jobHooks, key)
}

// hookMark is what a watch's pending events say: when they came, and the
// jobs their Job Hooks describe, latest word per job, unless one of them
// needs a full sync anyway (a Pipeline Hook, a Job Hook without its retry
// count, more jobs than maxEventJobs).
type hookMark struct {
	first, last time.Time
	jobs        map[int64]eventJob
	scan        bool
}

// maxEventJobs bounds the jobs a watch's pending events keep: beyond, one
// sync reading the project costs less than answering each.
const maxEventJobs = 100

// eventJob is a job as a Job Hook described it, with the retries its name
// already had in its pipeline.
type eventJob struct {
	job     gitlab.Job
	retries int
}

func (b *hookInbox) add(key types.NamespacedName, at time.Time, ev *gitlab.HookEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[types.NamespacedName]hookMark{}
	}
	if ev.Kind == gitlab.HookJob {
		if b.jobHooks == nil {
			b.jobHooks = map[types.NamespacedName]time.Time{}
		}
		b.jobHooks[key] = at
	}
	m, ok := b.pending[key]
	if !ok || at.Before(m.first) {
		m.first = at
	}
	if m.last.Before(at) {
		m.last = at
	}
	switch {
	case ev.Kind != gitlab.HookJob || ev.JobRetriesCount == nil || len(m.jobs) >= maxEventJobs:
		m.scan, m.jobs = true, nil
	case !m.scan:
		if m.jobs == nil {
			m.jobs = map[int64]eventJob{}
		}
		// Deliveries may come twice or out of order, but a finished status
		// is an attempt's last: it is never replaced by an earlier one.
		if old, seen := m.jobs[ev.JobID]; !seen || !slices.Contains(finishedStatuses, old.job.Status) {
			m.jobs[ev.JobID] = eventJob{job: jobOfEvent(ev), retries: int(*ev.JobRetriesCount)}
		}
	}
	b.pending[key] = m
}

// jobOfEvent is the job a Job Hook describes, as far as it does.
func jobOfEvent(ev *gitlab.HookEvent) gitlab.Job {
	return gitlab.Job{ID: ev.JobID, PipelineID: ev.PipelineID, ProjectID: ev.ProjectID, Name: ev.JobName, Stage: ev.JobStage,
		Ref: ev.Ref, Status: ev.JobStatus, FailureReason: ev.JobFailureReason, CreatedAt: ev.JobCreatedAt,
		StartedAt: ev.JobStartedAt, FinishedAt: ev.JobFinishedAt, AllowFailure: ev.JobAllowFailure}
}

func (b *hookInbox) has(key types.NamespacedName) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.pending[key]
	return ok
}

// take returns and forgets the watch's pending events.
func (b *hookInbox) take(key types.NamespacedName) (hookMark, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.pending[key]
	delete(b.pending, key)
	return m, ok
}

// A replica that does not lead wakes objects through the reconcile-request
// annotation (see wake).
// +kubebuilder:rbac:groups=ci.jobops.dev,resources=jobwatches;jobactions,verbs=patch

// hookRouter resolves receiver paths and routes events.
type hookRouter struct {
	client  client.Client // cached reads; writes for the annotation fallback
	secrets *secretReader
	watches *JobWatchReconciler
	actions *JobActionReconciler
}

// resolve finds the connection that publishes path, and its token.
func (h *hookRouter) resolve(ctx context.Context, path string) (*webhook.Endpoint, error) {
	var list civ1alpha1.GitLabConnectionList
	if err := h.client.List(ctx, &list, client.MatchingFields{webhookPathField: path}); err != nil {
		return nil, err
	}
	for _, conn := range list.Items {
		if conn.Spec.Webhook == nil {
			continue
		}
		ref := conn.Spec.Webhook.SecretRef
		token, err := h.secrets.value(ctx, conn.Namespace, ref.Name, keyOr(ref.Key, "token"))
		if re := asReconcileError(err); re != nil && re.kind == waitingKind {
			return nil, nil // no token: nothing can be accepted for it
		}
		if err != nil {
			return nil, err
		}
		return &webhook.Endpoint{Connection: types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}, Token: strings.TrimSpace(token)}, nil
	}
	return nil, nil
}

// dispatch wakes the JobWatches of the event's project and, for a Job Hook,
// the JobActions that follow the job.
func (h *hookRouter) dispatch(ctx context.Context, conn types.NamespacedName, ev *gitlab.HookEvent, received time.Time) int {
	n := 0
	var watches civ1alpha1.JobWatchList
	for _, key := range projectKeys(conn.Name, ev.ProjectPath, ev.ProjectID) {
		var list civ1alpha1.JobWatchList
		if err := h.client.List(ctx, &list, client.InNamespace(conn.Namespace), client.MatchingFields{watchProjectField: key}); err != nil {
			logf.FromContext(ctx).Error(err, "Listing the JobWatches of a webhook event's project failed")
			continue
		}
		watches.Items = append(watches.Items, list.Items...)
	}
	seen := map[types.NamespacedName]bool{}
	for i := range watches.Items {
		key := client.ObjectKeyFromObject(&watches.Items[i])
		if seen[key] {
			continue
		}
		seen[key] = true
		if ev.Kind == gitlab.HookPipeline && h.watches.inbox.pipelineHookRedundant(key, received, h.watches.matchesBridges(key)) {
			continue
		}
		h.watches.inbox.add(key, received, ev)
		h.wake(ctx, &watches.Items[i], &h.watches.queue)
		n++
	}
	if ev.Kind == gitlab.HookJob && ev.JobID != 0 {
		var actions civ1alpha1.JobActionList
		if err := h.client.List(ctx, &actions, client.InNamespace(conn.Namespace), client.MatchingFields{actionJobField: jobKey(conn.Name, ev.JobID)}); err != nil {
			logf.FromContext(ctx).Error(err, "Listing the JobActions of a webhook event's job failed")
		}
		for i := range actions.Items {
			h.wake(ctx, &actions.Items[i], &h.actions.queue)
			n++
		}
	}
	return n
}

// wake queues obj on its controller when it runs here (this replica leads);
// otherwise it sets the reconcile-request annotation, which the leader's
// watch sees: a delivery that reached another replica is not lost.
func (h *hookRouter) wake(ctx context.Context, obj client.Object, queue *queueHandle) {
	if queue.add(client.ObjectKeyFromObject(obj)) {
		return
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[civ1alpha1.SyncRequestAnnotation] = "webhook-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	obj.SetAnnotations(annotations)
	if err := h.client.Patch(ctx, obj, patch); err != nil {
		logf.FromContext(ctx).Error(err, "Asking the leader to reconcile after a webhook event failed", "object", client.ObjectKeyFromObject(obj))
	}
}
