package gitlabsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Sending webhooks as GitLab's WebHookService does: a JSON POST with its
// headers (Content-Type, User-Agent GitLab/<version>, X-Gitlab-Event,
// X-Gitlab-Token when the hook has one, X-Gitlab-Instance,
// X-Gitlab-Webhook-UUID new for every request, X-Gitlab-Event-UUID shared by
// the deliveries of one event, Idempotency-Key per event and hook), a
// timeout (10 s by default, GitLab.com's), no retry, and no redirect
// followed. A 2xx or 3xx answer is a delivery GitLab logs as ok; anything
// else, or no answer in time, a failure.
//
// Payloads are rendered when the change happens, under the store's lock,
// and queued per hook; one goroutine per hook sends them in order, so
// nothing here ever blocks the API or the lifecycle engine.

// maxQueuedDeliveries bounds a hook's queue; beyond it deliveries are
// dropped (and counted), so a dead receiver cannot grow memory without end.
const maxQueuedDeliveries = 10_000

// reorderWindow is how long a held-back delivery waits for one to overtake it.
const reorderWindow = time.Second

type delivery struct {
	hookID         int64
	event          string
	body           []byte
	eventUUID      string
	idempotencyKey string
	fate           hookFate
}

type hookSender struct {
	s       *Server
	timeout time.Duration
	faults  hookFaultInjector
	ctx     context.Context
	cancel  context.CancelFunc
	verify  *http.Client
	noCheck *http.Client // for hooks with SSL verification off

	mu      sync.Mutex // guards workers and closed
	workers map[*hook]*hookWorker
	closed  bool
	wg      sync.WaitGroup
	pending atomic.Int64 // deliveries queued or being sent
}

func newHookSender(s *Server, timeout time.Duration) *hookSender {
	ctx, cancel := context.WithCancel(context.Background())
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	insecure := http.DefaultTransport.(*http.Transport).Clone()
	insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only for hooks that ask for it
	return &hookSender{
		s: s, timeout: timeout, ctx: ctx, cancel: cancel, workers: map[*hook]*hookWorker{},
		verify:  &http.Client{Timeout: timeout, CheckRedirect: noRedirect},
		noCheck: &http.Client{Timeout: timeout, CheckRedirect: noRedirect, Transport: insecure},
	}
}

type hookWorker struct {
	id        int64
	url       string
	token     string
	verifyTLS bool

	mu    sync.Mutex
	queue []*delivery
	wake  chan struct{} // a delivery was queued
	quit  chan struct{} // the hook was deleted or the server closed
}

// start begins sending for a new hook; the caller holds the store's lock.
func (hs *hookSender) start(h *hook) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.closed {
		return
	}
	w := &hookWorker{
		id: h.id, url: h.url, token: h.token, verifyTLS: h.verifyTLS,
		wake: make(chan struct{}, 1), quit: make(chan struct{}),
	}
	hs.workers[h] = w
	hs.wg.Add(1)
	go func() {
		defer hs.wg.Done()
		hs.run(w)
	}()
}

// stop ends a hook's worker; what it had queued is dropped.
func (hs *hookSender) stop(h *hook) {
	hs.mu.Lock()
	w := hs.workers[h]
	delete(hs.workers, h)
	hs.mu.Unlock()
	if w != nil {
		close(w.quit)
	}
}

// stopAll ends every worker (Reset).
func (hs *hookSender) stopAll() {
	hs.mu.Lock()
	ws := hs.workers
	hs.workers = map[*hook]*hookWorker{}
	hs.mu.Unlock()
	for _, w := range ws {
		close(w.quit)
	}
}

// close stops sending for good: requests in flight are aborted.
func (hs *hookSender) close() {
	hs.mu.Lock()
	hs.closed = true
	hs.mu.Unlock()
	hs.cancel()
	hs.stopAll()
	hs.wg.Wait()
}

// jobEvent and pipelineEvent render an event and queue it for each hook;
// the caller holds the store's lock.
func (hs *hookSender) jobEvent(hooks []*hook, j *job) {
	now := time.Now().UTC()
	hs.enqueue(hooks, EventJobHook, marshal(buildJobHook(hs.s.plainRenderer().base, j, now)))
}

func (hs *hookSender) pipelineEvent(hooks []*hook, pl *pipeline) {
	now := time.Now().UTC()
	hs.enqueue(hooks, EventPipelineHook, marshal(buildPipelineHook(hs.s.plainRenderer().base, pl, now)))
}

func (hs *hookSender) enqueue(hooks []*hook, event string, body []byte) {
	eventUUID := newUUID()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hooks {
		w := hs.workers[h]
		if w == nil {
			continue
		}
		d := &delivery{
			hookID: h.id, event: event, body: body, eventUUID: eventUUID, idempotencyKey: newUUID(),
			fate: hs.faults.decide(h.id, event),
		}
		w.mu.Lock()
		if len(w.queue) >= maxQueuedDeliveries {
			w.mu.Unlock()
			hs.s.stats.hook(h.id, hookDropped)
			continue
		}
		w.queue = append(w.queue, d)
		w.mu.Unlock()
		hs.pending.Add(1)
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// next takes the oldest queued delivery, waiting up to wait (forever when
// wait is 0). ok is false when the worker must stop.
func (w *hookWorker) next(wait time.Duration) (d *delivery, ok bool) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			d, w.queue[0] = w.queue[0], nil
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return d, true
		}
		w.mu.Unlock()
		select {
		case <-w.quit:
			return nil, false
		case <-w.wake:
		case <-timeout:
			return nil, true
		}
	}
}

func (hs *hookSender) run(w *hookWorker) {
	var held *delivery // held back by a reorder fault
	defer func() {
		// Whatever was not sent is dropped with the hook.
		w.mu.Lock()
		n := int64(len(w.queue))
		w.queue = nil
		w.mu.Unlock()
		if held != nil {
			n++
		}
		hs.pending.Add(-n)
	}()
	for {
		var wait time.Duration
		if held != nil {
			wait = reorderWindow
		}
		d, ok := w.next(wait)
		switch {
		case !ok:
			return
		case d == nil: // nothing overtook the held delivery in time
			hs.send(w, held)
			held = nil
			continue
		case d.fate.drop:
			hs.s.stats.hook(w.id, hookDropped)
			hs.pending.Add(-1)
			continue
		case d.fate.reorder && held == nil:
			hs.s.stats.hook(w.id, hookReordered)
			held = d
			continue
		}
		if d.fate.delay > 0 {
			t := time.NewTimer(d.fate.delay)
			select {
			case <-t.C:
			case <-w.quit:
				t.Stop()
				hs.pending.Add(-1)
				return
			}
		}
		if d.fate.duplicate {
			hs.s.stats.hook(w.id, hookDuplicated)
			hs.post(w, d)
		}
		hs.send(w, d)
		if held != nil {
			hs.send(w, held)
			held = nil
		}
	}
}

// send posts a delivery and marks it done.
func (hs *hookSender) send(w *hookWorker, d *delivery) {
	hs.post(w, d)
	hs.pending.Add(-1)
}

// post makes one request and counts how it went.
func (hs *hookSender) post(w *hookWorker, d *delivery) {
	req, err := http.NewRequestWithContext(hs.ctx, http.MethodPost, w.url, bytes.NewReader(d.body))
	if err != nil {
		hs.s.stats.hook(w.id, hookFailed)
		return
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/"+hs.s.opts.Version)
	h.Set("Idempotency-Key", d.idempotencyKey)
	h.Set("X-Gitlab-Event", d.event)
	h.Set("X-Gitlab-Webhook-UUID", newUUID())
	h.Set("X-Gitlab-Instance", hs.s.plainRenderer().base)
	h.Set("X-Gitlab-Event-UUID", d.eventUUID)
	if w.token != "" {
		h.Set("X-Gitlab-Token", w.token)
	}
	c := hs.verify
	if !w.verifyTLS {
		c = hs.noCheck
	}
	res, err := c.Do(req)
	if err != nil {
		hs.s.stats.hook(w.id, hookFailed)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode < 400 {
		hs.s.stats.hook(w.id, hookSent)
	} else {
		hs.s.stats.hook(w.id, hookFailed)
	}
}

// newUUID makes a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// WaitForHookDeliveries blocks until every delivery queued so far has been
// sent, has failed or was dropped, or ctx ends. Tests use it to assert on
// what a receiver got.
func (s *Server) WaitForHookDeliveries(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for s.sender.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
