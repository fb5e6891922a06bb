package gitlab

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestClientsCacheOnePerConnectionAndRebuildOnChange(t *testing.T) {
	cs := NewClients()
	cfg := Config{Connection: "ns/a", URL: "https://gitlab.example.com", Token: "one", RequestsPerSecond: 5, Burst: 10}
	get := func(c Config) Client {
		t.Helper()
		cl, err := cs.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	first := get(cfg)
	if get(cfg) != first {
		t.Fatal("same config built a second client")
	}

	changes := map[string]func(*Config){
		"token":    func(c *Config) { c.Token = "two" },
		"url":      func(c *Config) { c.URL = "https://other.example.com" },
		"limits":   func(c *Config) { c.RequestsPerSecond = 6 },
		"timeout":  func(c *Config) { c.Timeout = time.Second },
		"insecure": func(c *Config) { c.InsecureSkipTLSVerify = true },
		"type":     func(c *Config) { c.TokenType = OAuth },
	}
	for name, change := range changes {
		changed := cfg
		change(&changed)
		if get(changed) == first {
			t.Fatalf("%s changed but the client was reused", name)
		}
		// Back to the original: a fresh build again (only the newest is kept).
		first = get(cfg)
	}

	other := cfg
	other.Connection = "ns/b"
	if get(other) == first {
		t.Fatal("two connections share a client")
	}
	if get(cfg) != first {
		t.Fatal("another connection evicted this one")
	}
	cs.Forget("ns/a")
	if get(cfg) == first {
		t.Fatal("Forget kept the client")
	}
}

func TestClientsAreSafeForConcurrentUse(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/user", userHandler)
	cs := testClients()
	cfg := f.config(t)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := cfg
			if i%4 == 0 {
				c.Token = "rotated"
			}
			cl, err := cs.Get(c)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := cl.CurrentUser(context.Background()); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
}

func TestJobTokenClientSharesTheConnectionsLimiter(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/user", userHandler)
	f.handle("GET /api/v4/job", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, jobDoc(5, "ask", "running"))
	})
	cs := testClients()
	cfg := f.config(t)
	cfg.RequestsPerSecond, cfg.Burst = 10, 1
	c, err := cs.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jc, err := cs.JobTokenClient(cfg, "job-token")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := jc.CurrentJob(context.Background()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 80*time.Millisecond {
		t.Fatalf("the job-token request did not wait for the connection's limiter (%s)", time.Since(start))
	}
}
