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

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusWriter patches an object's status with an optimistic lock: the patch
// carries the resourceVersion it was computed from, so a pass that started from
// a stale cache fails with a conflict instead of overwriting newer status. That
// is what makes "record the intent, then call GitLab" safe: two passes can never
// both record the same intent.
type statusWriter struct {
	client   client.Client
	fresh    client.Reader // uncached, to look past a conflict
	original client.Object
}

func newStatusWriter(c client.Client, fresh client.Reader, obj client.Object) *statusWriter {
	return &statusWriter{client: c, fresh: fresh, original: obj.DeepCopyObject().(client.Object)}
}

// write sends the status changes made to obj since the last write (nothing when
// there are none) and remembers obj as the new base.
//
// A conflict caused only by a change to metadata or spec (an annotation that
// asks for a sync, a label) is not a stale status: when the stored status is
// still the one this pass started from, the same changes are sent again on top
// of the stored object.
func (w *statusWriter) write(ctx context.Context, obj client.Object, status func(client.Object) any) error {
	if equality.Semantic.DeepEqual(status(w.original), status(obj)) {
		return nil
	}
	err := w.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(w.original, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		err = w.rebase(ctx, obj, status, err)
	}
	if err != nil {
		return err
	}
	w.original = obj.DeepCopyObject().(client.Object)
	return nil
}

// rebase retries a conflicting write on the stored object's resourceVersion if
// the stored status is unchanged; otherwise it returns the conflict.
func (w *statusWriter) rebase(ctx context.Context, obj client.Object, status func(client.Object) any, conflict error) error {
	stored := w.original.DeepCopyObject().(client.Object)
	if err := w.fresh.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(status(stored), status(w.original)) {
		return conflict
	}
	base := w.original.DeepCopyObject().(client.Object)
	base.SetResourceVersion(stored.GetResourceVersion())
	obj.SetResourceVersion(stored.GetResourceVersion())
	return w.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}
