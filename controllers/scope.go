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
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// ShardLabel is the label that assigns an object to a shard, as Flux's
// controllers use it: a manager started with
// --watch-label-selector=sharding.fluxcd.io/key=shard1 reconciles the
// JobWatches, JobActions and GitLabConnections labelled with that key, and the
// main manager, with --watch-label-selector='!sharding.fluxcd.io/key', all
// the others.
const ShardLabel = "sharding.fluxcd.io/key"

// Scope is the part of the cluster one manager reconciles: some namespaces
// (all when empty) and, in them, the objects whose labels match Selector
// (all when nil). Managers with disjoint scopes share a cluster as shards,
// each with its own leader election lease.
type Scope struct {
	Namespaces []string
	Selector   labels.Selector
}

// CacheOptions limits the manager's cache to the scope. JobWatches and
// JobActions outside the selector are not even read; GitLabConnections are
// cached in every namespace of the scope whatever their labels, because a
// shard's objects may use a connection that another manager checks.
func (s Scope) CacheOptions() cache.Options {
	opts := cache.Options{}
	if len(s.Namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range s.Namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	// JobActionRecords are cached as metadata only, and without
	// managedFields: a JobAction asks the cache only whether its record
	// exists (actionRecords.get), and records are many (one per JobAction,
	// kept for the retention).
	opts.ByObject = map[client.Object]cache.ByObject{
		recordMetadata(): {Transform: cache.TransformStripManagedFields()},
	}
	if s.selects() {
		opts.ByObject[&civ1alpha1.JobWatch{}] = cache.ByObject{Label: s.Selector}
		opts.ByObject[&civ1alpha1.JobAction{}] = cache.ByObject{Label: s.Selector}
	}
	return opts
}

// LeaderElectionID is base, made unique to the scope: each shard elects its
// own leader.
func (s Scope) LeaderElectionID(base string) string {
	if !s.selects() && len(s.Namespaces) == 0 {
		return base
	}
	h := fnv.New32a()
	ns := slices.Sorted(slices.Values(s.Namespaces))
	fmt.Fprintf(h, "%s|%s", strings.Join(ns, ","), s.selectorString())
	return fmt.Sprintf("%s-%08x", base, h.Sum32())
}

// owns says whether an object (a GitLabConnection) is this manager's to
// reconcile.
func (s Scope) owns(obj client.Object) bool {
	return !s.selects() || s.Selector.Matches(labels.Set(obj.GetLabels()))
}

// predicate passes only the objects the scope owns.
func (s Scope) predicate() predicate.Predicate {
	return predicate.NewPredicateFuncs(s.owns)
}

// listOptions limit a List to the scope, in one namespace ("" for all).
func (s Scope) listOptions(namespace string) []client.ListOption {
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if s.selects() {
		opts = append(opts, client.MatchingLabelsSelector{Selector: s.Selector})
	}
	return opts
}

func (s Scope) selects() bool { return s.Selector != nil && !s.Selector.Empty() }

func (s Scope) selectorString() string {
	if !s.selects() {
		return ""
	}
	return s.Selector.String()
}
