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
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// connections turns GitLabConnections and their Secrets into GitLab clients.
// Every controller embeds it; they share one gitlab.Provider, so each
// connection has one client, one connection pool and one rate limiter.
type connections struct {
	client  client.Client // cached, for GitLabConnections
	secrets *secretReader
	gitlab  gitlab.Provider
}

// resolvedConnection is a Ready GitLabConnection with its client.
type resolvedConnection struct {
	obj    *civ1alpha1.GitLabConnection
	config gitlab.Config
	client gitlab.Client
}

// callTimeout bounds one request on the connection: after it, a call that
// was made has certainly ended on the operator's side.
func (c *resolvedConnection) callTimeout() time.Duration {
	if c.obj.Spec.TimeoutSeconds <= 0 {
		return 30 * time.Second // the API's default
	}
	return time.Duration(c.obj.Spec.TimeoutSeconds) * time.Second
}

// forConnection returns the client of the named GitLabConnection in
// namespace, which must exist and be Ready; until then the object waits for
// the connection's watch to bring it back.
func (c *connections) forConnection(ctx context.Context, namespace, name string) (*resolvedConnection, error) {
	conn := &civ1alpha1.GitLabConnection{}
	if err := c.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, conn); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, waitingFor(civ1alpha1.ReasonConnectionNotFound,
				"GitLabConnection %q does not exist in namespace %s", name, namespace)
		}
		return nil, err
	}
	if !isTrue(conn.Status.Conditions, civ1alpha1.ConditionReady) {
		msg := "it has not been checked yet"
		if ready := meta.FindStatusCondition(conn.Status.Conditions, civ1alpha1.ConditionReady); ready != nil {
			msg = ready.Reason + ": " + ready.Message
		}
		return nil, waitingFor(civ1alpha1.ReasonConnectionNotReady, "GitLabConnection %q is not Ready: %s", name, msg)
	}
	cfg, err := c.config(ctx, conn)
	if err != nil {
		return nil, err
	}
	gl, err := c.gitlab.Get(cfg)
	if err != nil {
		return nil, gitlabFailure(err, "GitLabConnection "+name)
	}
	return &resolvedConnection{obj: conn, config: cfg, client: gl}, nil
}

// config reads a GitLabConnection's Secrets and returns the client config.
func (c *connections) config(ctx context.Context, conn *civ1alpha1.GitLabConnection) (gitlab.Config, error) {
	ref := conn.Spec.TokenSecretRef
	token, err := c.secrets.value(ctx, conn.Namespace, ref.Name, keyOr(ref.Key, "token"))
	if err != nil {
		return gitlab.Config{}, err
	}
	cfg := gitlab.Config{
		Connection: conn.Namespace + "/" + conn.Name,
		URL:        conn.Spec.URL,
		// A token pasted with `echo` ends in a newline, which no HTTP header may carry.
		Token:                 strings.TrimSpace(token),
		TokenType:             gitlab.TokenType(conn.Spec.TokenType),
		InsecureSkipTLSVerify: conn.Spec.InsecureSkipTLSVerify,
		RequestsPerSecond:     float64(conn.Spec.RequestsPerSecond),
		Burst:                 int(conn.Spec.Burst),
		Timeout:               time.Duration(conn.Spec.TimeoutSeconds) * time.Second,
	}
	if ca := conn.Spec.CABundleSecretRef; ca != nil {
		bundle, err := c.secrets.value(ctx, conn.Namespace, ca.Name, keyOr(ca.Key, "ca.crt"))
		if err != nil {
			return gitlab.Config{}, err
		}
		cfg.CABundle = []byte(bundle)
	}
	return cfg, nil
}

func keyOr(key, fallback string) string {
	if key == "" {
		return fallback
	}
	return key
}
