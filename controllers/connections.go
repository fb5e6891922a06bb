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
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// stepError is a run-time problem that becomes a condition: a reason a user can
// look up, a message that says what to fix, and whether retrying later can help.
type stepError struct {
	Reason  string
	Message string
	// Terminal means nothing changes without someone changing the spec or GitLab:
	// no requeue. Otherwise RetryAfter (or the workqueue's backoff) applies.
	Terminal bool
	// Waiting means the problem is outside the object (a missing Secret or
	// connection) and goes away when that appears: wait, don't fail.
	Waiting    bool
	RetryAfter time.Duration
	cause      error
}

func (e *stepError) Error() string { return e.Reason + ": " + e.Message }
func (e *stepError) Unwrap() error { return e.cause }

// waiting is a problem that resolves itself when another object appears or
// changes (a Secret is created, a connection becomes Ready): a watch brings the
// object back, so no timed requeue is needed.
func waiting(reason, format string, args ...any) *stepError {
	return &stepError{Reason: reason, Message: fmt.Sprintf(format, args...), Terminal: true, Waiting: true}
}

// asStepError returns err as a *stepError, or nil.
func asStepError(err error) *stepError {
	var se *stepError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// gitlabFailure turns an error from internal/gitlab into a stepError with a
// specific reason. what names the object of the call for the message
// ("job 812 of group/app").
func gitlabFailure(err error, what string) *stepError {
	class := gitlab.ClassOf(err)
	se := &stepError{Message: fmt.Sprintf("%s: %v", what, err), cause: err, Terminal: gitlab.IsTerminal(err)}
	switch class {
	case gitlab.Unauthorized:
		se.Reason = civ1alpha1.ReasonUnauthorized
		se.Message = fmt.Sprintf("GitLab refused the token (401) for %s: check the token Secret; it may be expired or revoked", what)
	case gitlab.Forbidden:
		se.Reason = civ1alpha1.ReasonForbidden
	case gitlab.ProjectNotFound:
		se.Reason = civ1alpha1.ReasonProjectNotFound
		se.Message = fmt.Sprintf("GitLab does not know the project of %s, or the token cannot see it", what)
	case gitlab.NotFound, gitlab.JobNotFoundForToken:
		se.Reason = civ1alpha1.ReasonJobNotFound
		se.Message = fmt.Sprintf("GitLab has no %s", what)
	case gitlab.NotRetryable:
		se.Reason = civ1alpha1.ReasonNotRetryable
		se.Message = fmt.Sprintf("GitLab refused to retry %s: only a finished job that has not been retried already can be retried", what)
	case gitlab.Unplayable:
		se.Reason = civ1alpha1.ReasonUnplayable
		se.Message = fmt.Sprintf("GitLab refused to play %s: only a manual job can be played", what)
	case gitlab.NotErasable:
		se.Reason = civ1alpha1.ReasonNotErasable
		se.Message = fmt.Sprintf("GitLab refused to erase %s: only a finished job with a log or artifacts can be erased", what)
	case gitlab.BadRequest, gitlab.InvalidConfig:
		se.Reason = civ1alpha1.ReasonBadRequest
	case gitlab.Unreachable:
		se.Reason = civ1alpha1.ReasonUnreachable
	case gitlab.TLSError:
		se.Reason = civ1alpha1.ReasonTLSError
	default: // RateLimited, Transient, Unknown
		se.Reason = civ1alpha1.ReasonGitLabUnavailable
		se.RetryAfter = gitlab.RetryAfter(err)
	}
	return se
}

// connections turns GitLabConnections and their Secrets into GitLab clients.
// Secrets are read by name (secretReader): the operator keeps no cluster-wide
// cache of Secret data.
type connections struct {
	client  client.Client // cached, for GitLabConnections
	secrets *secretReader
	clients *gitlab.Clients
}

// config reads a GitLabConnection's Secrets and returns the client config.
func (c *connections) config(ctx context.Context, conn *civ1alpha1.GitLabConnection) (gitlab.Config, error) {
	ref := conn.Spec.TokenSecretRef
	token, err := c.secretValue(ctx, conn.Namespace, ref.Name, keyOr(ref.Key, "token"))
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
		bundle, err := c.secretValue(ctx, conn.Namespace, ca.Name, keyOr(ca.Key, "ca.crt"))
		if err != nil {
			return gitlab.Config{}, err
		}
		cfg.CABundle = []byte(bundle)
	}
	return cfg, nil
}

// resolvedConnection is a Ready GitLabConnection with its client.
type resolvedConnection struct {
	obj    *civ1alpha1.GitLabConnection
	config gitlab.Config
	client gitlab.Client
}

// forConnection returns the client of the named GitLabConnection in namespace,
// which must exist and be Ready.
func (c *connections) forConnection(ctx context.Context, namespace, name string) (*resolvedConnection, error) {
	conn := &civ1alpha1.GitLabConnection{}
	if err := c.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, conn); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, waiting(civ1alpha1.ReasonConnectionNotFound,
				"GitLabConnection %q does not exist in namespace %s", name, namespace)
		}
		return nil, err
	}
	if !isTrue(conn.Status.Conditions, civ1alpha1.ConditionReady) {
		msg := "it has not been checked yet"
		if ready := findCondition(conn.Status.Conditions, civ1alpha1.ConditionReady); ready != nil {
			msg = ready.Reason + ": " + ready.Message
		}
		return nil, waiting(civ1alpha1.ReasonConnectionNotReady, "GitLabConnection %q is not Ready: %s", name, msg)
	}
	cfg, err := c.config(ctx, conn)
	if err != nil {
		return nil, err
	}
	gl, err := c.clients.Get(cfg)
	if err != nil {
		return nil, gitlabFailure(err, "GitLabConnection "+name)
	}
	return &resolvedConnection{obj: conn, config: cfg, client: gl}, nil
}

// secretValue reads one key of a Secret in namespace.
func (c *connections) secretValue(ctx context.Context, namespace, name, key string) (string, error) {
	return c.secrets.value(ctx, namespace, name, key)
}

func keyOr(key, fallback string) string {
	if key == "" {
		return fallback
	}
	return key
}
