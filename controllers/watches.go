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

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// specOrRequestChanged passes the changes a controller must act on: a new
// spec (generation), or a new value of the reconcile-request annotation. The
// controllers' own status patches, and any other metadata change (labels, a
// GitOps tool's annotations), do not trigger a pass.
func specOrRequestChanged() predicate.Predicate {
	return predicate.Or(predicate.GenerationChangedPredicate{}, reconcileRequested{})
}

// reconcileRequested passes updates that set the request annotation to a new
// value (kubectl annotate ... ci.jobops.dev/requested-at="$(date +%s)").
type reconcileRequested struct {
	predicate.Funcs
}

func (reconcileRequested) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	return requestOf(e.ObjectNew) != "" && requestOf(e.ObjectNew) != requestOf(e.ObjectOld)
}

func requestOf(obj client.Object) string {
	return obj.GetAnnotations()[civ1alpha1.SyncRequestAnnotation]
}

// enqueueByIndex maps an event on one object (a connection, a Secret) to the
// objects of another kind in its namespace whose field index holds its name,
// keeping only those keep accepts (nil: all). newList makes the list to fill.
func enqueueByIndex(c client.Reader, newList func() client.ObjectList, field string, keep func(client.Object) bool) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		list := newList()
		if err := c.List(ctx, list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{field: obj.GetName()}); err != nil {
			return nil
		}
		var requests []reconcile.Request
		_ = meta.EachListItem(list, func(item runtime.Object) error {
			o := item.(client.Object)
			if keep == nil || keep(o) {
				requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
			}
			return nil
		})
		return requests
	}
}
