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
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// secretReader reads the keys of Secrets the operator's objects name. There is
// no informer on Secret data: the manager watches Secret metadata only, and the
// data of a referenced Secret is read from the API server by name, then kept
// while that Secret's resourceVersion (from the metadata cache) is unchanged.
// That saves an API server round trip per reconcile without caching any
// Secret nobody referenced.
type secretReader struct {
	metadata client.Reader // the manager's cache, metadata-only for Secrets
	api      client.Reader // uncached

	mu   sync.Mutex
	data map[types.NamespacedName]secretData
}

type secretData struct {
	resourceVersion string
	data            map[string][]byte
}

func newSecretReader(metadata, api client.Reader) *secretReader {
	return &secretReader{metadata: metadata, api: api, data: map[types.NamespacedName]secretData{}}
}

// value returns one key of a Secret; a missing Secret or an empty key is a
// wait, resolved when the Secret appears or changes (its watch brings the
// object back).
func (s *secretReader) value(ctx context.Context, namespace, name, key string) (string, error) {
	data, err := s.read(ctx, types.NamespacedName{Namespace: namespace, Name: name})
	if apierrors.IsNotFound(err) {
		return "", waitingFor(civ1alpha1.ReasonSecretNotFound, "Secret %q does not exist in namespace %s", name, namespace)
	}
	if err != nil {
		return "", err
	}
	if len(data[key]) == 0 {
		return "", waitingFor(civ1alpha1.ReasonSecretKeyMissing, "Secret %q has no key %q, or it is empty", name, key)
	}
	return string(data[key]), nil
}

func (s *secretReader) read(ctx context.Context, key types.NamespacedName) (map[string][]byte, error) {
	meta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
	if err := s.metadata.Get(ctx, key, meta); err == nil {
		s.mu.Lock()
		cached, ok := s.data[key]
		s.mu.Unlock()
		if ok && cached.resourceVersion == meta.ResourceVersion {
			return cached.data, nil
		}
	}
	// Not in the metadata cache yet, or changed: the API server has the truth.
	secret := &corev1.Secret{}
	err := s.api.Get(ctx, key, secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.data, key)
		return nil, err
	}
	s.data[key] = secretData{resourceVersion: secret.ResourceVersion, data: secret.Data}
	return secret.Data, nil
}

// variableValues resolves Play variables, reading Secret values by name.
// Values live only in memory for the call: never in status, events or logs.
func (s *secretReader) variableValues(ctx context.Context, namespace string, vars []civ1alpha1.PlayVariable) ([]gitlab.Variable, error) {
	out := make([]gitlab.Variable, 0, len(vars))
	for _, v := range vars {
		value := v.Value
		if v.ValueFrom != nil {
			ref := v.ValueFrom.SecretKeyRef
			var err error
			if value, err = s.value(ctx, namespace, ref.Name, ref.Key); err != nil {
				return nil, err
			}
		}
		out = append(out, gitlab.Variable{Key: v.Key, Value: value})
	}
	return out, nil
}
