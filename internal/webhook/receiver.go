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

package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// PathPrefix starts every path the receiver serves.
const PathPrefix = "/hooks/"

// Endpoint is what a path stands for: a GitLabConnection and the token its
// hooks must carry.
type Endpoint struct {
	Connection types.NamespacedName
	Token      string
}

// Resolver returns the endpoint of a path, or nil when no connection
// publishes it. An error means the receiver could not tell (the API server
// failed it), and is answered 503 so that GitLab's delivery log shows it.
type Resolver func(ctx context.Context, path string) (*Endpoint, error)

// Dispatcher hands an event to the controllers and says how many objects it
// concerned (0: nobody watches that project). It must not block.
type Dispatcher func(ctx context.Context, conn types.NamespacedName, event *gitlab.HookEvent, received time.Time) int

// Receiver serves GitLab's webhooks. Start it as a manager Runnable.
type Receiver struct {
	addr     string
	certDir  string
	resolve  Resolver
	dispatch Dispatcher

	serving atomic.Bool
	bound   atomic.Value // string: the address actually listened on
}

// NewReceiver makes a receiver listening on addr (":9292"), with TLS from
// certDir (tls.crt, tls.key, reloaded when they change) when it is set.
func NewReceiver(addr, certDir string, resolve Resolver, dispatch Dispatcher) *Receiver {
	return &Receiver{addr: addr, certDir: certDir, resolve: resolve, dispatch: dispatch}
}

// NeedLeaderElection is false: every replica receives, so a delivery routed
// to a replica that is not the leader is still acted on (see Dispatcher).
func (r *Receiver) NeedLeaderElection() bool { return false }

// Addr is the address the receiver listens on, once started.
func (r *Receiver) Addr() string {
	a, _ := r.bound.Load().(string)
	return a
}

// Check is the receiver's health check: it fails until it serves.
func (r *Receiver) Check(*http.Request) error {
	if !r.serving.Load() {
		return errors.New("the webhook receiver is not serving")
	}
	return nil
}

// Start serves until ctx ends.
func (r *Receiver) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("webhook-receiver")
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	if r.certDir != "" {
		watcher, err := certwatcher.New(filepath.Join(r.certDir, "tls.crt"), filepath.Join(r.certDir, "tls.key"))
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("webhook receiver: %w", err)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				log.Error(err, "Watching the webhook receiver's certificate failed")
			}
		}()
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: watcher.GetCertificate,
			NextProtos: []string{"http/1.1"}})
	}
	r.bound.Store(ln.Addr().String())
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("Receiving GitLab webhooks", "address", ln.Addr().String(), "tls", r.certDir != "")
	r.serving.Store(true)
	defer r.serving.Store(false)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeHTTP answers one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	received := time.Now()
	kind := kindOfHeader(req.Header.Get("X-Gitlab-Event"))
	answer := func(status int, outcome string) {
		eventsTotal.WithLabelValues(string(kind), outcome).Inc()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintln(w, http.StatusText(status))
	}
	if !strings.HasPrefix(req.URL.Path, PathPrefix) {
		answer(http.StatusNotFound, outcomeNotFound)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(http.StatusMethodNotAllowed, outcomeMalformed)
		return
	}
	ep, err := r.resolve(req.Context(), req.URL.Path)
	switch {
	case err != nil:
		logf.FromContext(req.Context()).Error(err, "Could not tell which connection a webhook is for")
		answer(http.StatusServiceUnavailable, outcomeError)
		return
	case ep == nil:
		answer(http.StatusNotFound, outcomeNotFound)
		return
	case !sameToken(req.Header.Get("X-Gitlab-Token"), ep.Token):
		answer(http.StatusUnauthorized, outcomeUnauthorized)
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, gitlab.MaxHookPayload)
	event, err := gitlab.ParseHook(req)
	switch gitlab.HookFaultOf(err) {
	case "":
	case gitlab.HookTooLarge:
		answer(http.StatusRequestEntityTooLarge, outcomeTooLarge)
		return
	case gitlab.HookUnused:
		answer(http.StatusOK, outcomeIgnored)
		return
	default:
		answer(http.StatusBadRequest, outcomeMalformed)
		return
	}
	kind = event.Kind
	if r.dispatch(req.Context(), ep.Connection, event, received) == 0 {
		answer(http.StatusOK, outcomeIgnored)
		return
	}
	answer(http.StatusOK, outcomeAccepted)
}

// sameToken compares the token sent with the one expected in constant time,
// whatever their lengths: hashing both first makes the comparison's time
// independent of where, or whether, they differ.
func sameToken(sent, want string) bool {
	if want == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(sent)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// kindOfHeader maps X-Gitlab-Event to the bounded set of kinds used as a
// metric label, before (or without) parsing the body.
func kindOfHeader(event string) gitlab.HookKind {
	switch event {
	case "Job Hook":
		return gitlab.HookJob
	case "Pipeline Hook":
		return gitlab.HookPipeline
	}
	return gitlab.HookOther
}
