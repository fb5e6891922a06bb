package gitlab

import (
	"crypto/sha256"
	"net/http"
	"sync"
)

// Provider hands out clients by connection. Controllers depend on it, so a
// test can give them fakes instead of *Clients.
type Provider interface {
	// Get returns the client for cfg.Connection (see Clients.Get).
	Get(cfg Config) (Client, error)
	// JobTokenClient returns a client for a CI job token over the
	// connection's transport (see Clients.JobTokenClient).
	JobTokenClient(baseCfg Config, jobToken string) (JobTokenClient, error)
	// Forget drops a deleted connection's client (see Clients.Forget).
	Forget(connection string)
}

var _ Provider = (*Clients)(nil)

// Clients caches one Client per GitLabConnection: one http.Client (TLS
// settings, connection pool) and one rate limiter, shared by every
// reconcile that uses the connection. A changed config (token rotated, CA
// bundle, limits) builds a new one. Safe for concurrent use.
type Clients struct {
	policy retryPolicy

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	fingerprint [sha256.Size]byte
	baseURL     string
	http        *http.Client
	client      *client
}

// NewClients returns an empty cache.
func NewClients() *Clients {
	return &Clients{policy: defaultRetryPolicy, entries: map[string]*cacheEntry{}}
}

// Get returns the client for cfg.Connection, building it if there is none
// or if any field of cfg changed since it was built. An invalid cfg is an
// InvalidConfig error.
func (cs *Clients) Get(cfg Config) (Client, error) {
	e, err := cs.entry(cfg)
	if err != nil {
		return nil, err
	}
	return e.client, nil
}

// JobTokenClient returns a client that authenticates with a CI job token,
// over the same http.Client (TLS, pool, rate limiter, metrics) as the
// connection baseCfg. It is not cached: job tokens live as long as a job.
func (cs *Clients) JobTokenClient(baseCfg Config, jobToken string) (JobTokenClient, error) {
	e, err := cs.entry(baseCfg)
	if err != nil {
		return nil, err
	}
	return newJobTokenClient(e.baseURL, jobToken, e.http, cs.policy)
}

// Forget drops the connection's client, closes its idle connections and
// removes its metric series; call it when the GitLabConnection is deleted.
func (cs *Clients) Forget(connection string) {
	cs.mu.Lock()
	e := cs.entries[connection]
	delete(cs.entries, connection)
	cs.mu.Unlock()
	if e != nil {
		e.http.CloseIdleConnections()
	}
	forgetMetrics(connection)
}

func (cs *Clients) entry(cfg Config) (*cacheEntry, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	fp := cfg.fingerprint()

	cs.mu.Lock()
	defer cs.mu.Unlock()
	old := cs.entries[cfg.Connection]
	if old != nil && old.fingerprint == fp {
		return old, nil
	}
	hc, err := newHTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg, hc, cs.policy)
	if err != nil {
		return nil, err
	}
	e := &cacheEntry{fingerprint: fp, baseURL: cfg.URL, http: hc, client: c}
	cs.entries[cfg.Connection] = e
	if old != nil {
		// In-flight requests finish on their connections; idle ones of
		// the old settings go now.
		old.http.CloseIdleConnections()
	}
	return e, nil
}
