package gitlab

import (
	"bytes"
	"context"
	"net/http"
	"runtime"
	"strconv"
	"testing"
)

const (
	chunkSize = 64 << 10
	logChunks = 800 // 800 × 64 KiB = 50 MiB
)

// logChunk fills buf with chunk k of a deterministic log: every chunk
// starts with its number, so a tail taken from the wrong place shows.
func logChunk(k int, buf []byte) {
	for i := range buf {
		buf[i] = 'a' + byte((k+i)%26)
	}
	copy(buf, "chunk "+strconv.Itoa(k)+"\n")
	buf[len(buf)-1] = '\n'
}

// expectedTail rebuilds the last n bytes of the log from its last chunks.
func expectedTail(n int) []byte {
	var all []byte
	buf := make([]byte, chunkSize)
	for k := logChunks - (n/chunkSize + 2); k < logChunks; k++ {
		logChunk(k, buf)
		all = append(all, buf...)
	}
	return all[len(all)-n:]
}

func TestTraceTailKeepsTheLastBytesOfA50MBLogWithBoundedMemory(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/7/jobs/42/trace", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Disposition", `infile; filename="42.log"`)
		buf := make([]byte, chunkSize) // reused: the server must not allocate per chunk either
		for k := 0; k < logChunks; k++ {
			logChunk(k, buf)
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	c := f.client(t)
	const n = 100_000 // not a multiple of the chunk size: the tail spans chunks
	want := expectedTail(n)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := c.TraceTail(context.Background(), "7", 42, n)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("tail differs: got %d bytes starting %q, want %d starting %q", len(got), got[:40], len(want), want[:40])
	}
	const logSize = logChunks * chunkSize
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("read a %d MiB log, allocated %d KiB", logSize>>20, alloc>>10)
	if alloc > logSize/10 {
		t.Fatalf("allocated %d bytes for a %d-byte log; memory must not grow with the log", alloc, logSize)
	}
}

func TestTraceTailOfShortAndEmptyLogs(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/7/jobs/1/trace", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello\n"))
	})
	f.handle("GET /api/v4/projects/7/jobs/2/trace", func(w http.ResponseWriter, _ *http.Request) {})
	f.handle("GET /api/v4/projects/7/jobs/3/trace", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, 404, "404 Not found")
	})
	c := f.client(t)
	if got, err := c.TraceTail(context.Background(), "7", 1, 1024); err != nil || string(got) != "hello\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := c.TraceTail(context.Background(), "7", 2, 1024); err != nil || len(got) != 0 {
		t.Fatalf("empty log: got %q, %v", got, err)
	}
	if _, err := c.TraceTail(context.Background(), "7", 3, 1024); ClassOf(err) != NotFound {
		t.Fatalf("missing job: %v", err)
	}
	if _, err := c.TraceTail(context.Background(), "7", 1, 0); ClassOf(err) != InvalidConfig {
		t.Fatalf("maxBytes 0: %v", err)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"under max", 10, []string{"abc", "de"}, "abcde"},
		{"exactly max", 5, []string{"abc", "de"}, "abcde"},
		{"wraps", 5, []string{"abc", "def", "gh"}, "defgh"},
		{"one big write", 4, []string{"abcdefghij"}, "ghij"},
		{"big write after partial fill", 4, []string{"ab", "cdefgh"}, "efgh"},
		{"many small writes", 3, []string{"a", "b", "c", "d", "e", "f", "g"}, "efg"},
		{"max one", 1, []string{"abc", "d"}, "d"},
		{"empty", 4, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTailBuffer(tt.max)
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := string(b.Bytes()); got != tt.want {
				t.Fatalf("Bytes = %q, want %q", got, tt.want)
			}
		})
	}
}
