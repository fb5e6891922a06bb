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
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusWriter patches an object's status with an optimistic lock: the patch
// carries the resourceVersion it was computed from, so a pass that started from
// a stale cache fails with a conflict instead of overwriting newer status. That
// is what makes "record the intent, then call GitLab" safe: two passes can never
// both record the same intent.
type statusWriter struct {
	client   client.Client
	original client.Object
}

func newStatusWriter(c client.Client, obj client.Object) *statusWriter {
	return &statusWriter{client: c, original: obj.DeepCopyObject().(client.Object)}
}

// write sends the status changes made to obj since the last write (nothing when
// there are none) and remembers obj as the new base.
func (w *statusWriter) write(ctx context.Context, obj client.Object, status func(client.Object) any) error {
	if equality.Semantic.DeepEqual(status(w.original), status(obj)) {
		return nil
	}
	patch := client.MergeFromWithOptions(w.original, client.MergeFromWithOptimisticLock{})
	if err := w.client.Status().Patch(ctx, obj, patch); err != nil {
		return err
	}
	w.original = obj.DeepCopyObject().(client.Object)
	return nil
}
