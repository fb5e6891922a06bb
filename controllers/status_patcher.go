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

// statusPatcher patches an object's status with an optimistic lock: the patch
// carries the resourceVersion it was computed from, so a pass that started from
// a stale cache fails with a conflict instead of overwriting newer status. A
// JobWatch's pending actions are recorded this way before their calls, so two
// passes can never both claim the same call.
type statusPatcher struct {
	client    client.Client
	apiReader client.Reader // uncached, to look past a conflict
	status    func(client.Object) any
	original  client.Object
}

func newStatusPatcher(c client.Client, apiReader client.Reader, obj client.Object, status func(client.Object) any) *statusPatcher {
	return &statusPatcher{client: c, apiReader: apiReader, status: status, original: obj.DeepCopyObject().(client.Object)}
}

// patch sends the status changes made to obj since the last patch (nothing
// when there are none) and remembers obj as the new base.
//
// A conflict caused only by a change to metadata or spec (an annotation that
// asks for a sync, a label) is not a stale status: when the stored status is
// still the one this pass started from, the same changes are sent again on top
// of the stored object.
func (p *statusPatcher) patch(ctx context.Context, obj client.Object) error {
	if equality.Semantic.DeepEqual(p.status(p.original), p.status(obj)) {
		return nil
	}
	err := p.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(p.original, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		err = p.rebase(ctx, obj, err)
	}
	if err != nil {
		return err
	}
	p.original = obj.DeepCopyObject().(client.Object)
	return nil
}

// rebase retries a conflicting patch on the stored object's resourceVersion if
// the stored status is unchanged; otherwise it returns the conflict.
func (p *statusPatcher) rebase(ctx context.Context, obj client.Object, conflict error) error {
	stored := p.original.DeepCopyObject().(client.Object)
	if err := p.apiReader.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(p.status(stored), p.status(p.original)) {
		return conflict
	}
	base := p.original.DeepCopyObject().(client.Object)
	base.SetResourceVersion(stored.GetResourceVersion())
	obj.SetResourceVersion(stored.GetResourceVersion())
	return p.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}
