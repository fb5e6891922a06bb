package gitlabsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// GitLab's error bodies, exactly as docs/gitlab-api.md lists them. Clients
// (and the operator's error classification) read both the status and these
// bodies, so they are spelled once, here.

// bufPool recycles response buffers: a page of jobs is tens of kilobytes,
// and allocating it per request made garbage collection (which must scan a
// world of 100,000 jobs) the main cost of a list request.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // GitLab writes "&" in URLs as is
	if err := enc.Encode(v); err != nil {
		// Only our own types are encoded; failing here is a bug, answered as
		// GitLab answers its own bugs.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"500 Internal Server Error"}`)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeRawJSON writes a body rendered by hand (jobjson.go).
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// pageBufs recycles the buffers list pages are rendered into.
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getPageBuf() *[]byte { return pageBufs.Get().(*[]byte) }

func putPageBuf(b *[]byte) {
	if cap(*b) <= 4<<20 {
		*b = (*b)[:0]
		pageBufs.Put(b)
	}
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func unauthorized(w http.ResponseWriter) {
	writeMessage(w, http.StatusUnauthorized, "401 Unauthorized")
}

func forbidden(w http.ResponseWriter, reason string) {
	if reason == "" {
		writeMessage(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	writeMessage(w, http.StatusForbidden, "403 Forbidden - "+reason)
}

func badRequest(w http.ResponseWriter, reason string) {
	writeMessage(w, http.StatusBadRequest, "400 Bad request - "+reason)
}

// paramError is Grape's parameter validation failure.
func paramError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func projectNotFound(w http.ResponseWriter) {
	writeMessage(w, http.StatusNotFound, "404 Project Not Found")
}

// notFound is what a missing job or pipeline id gets (lower-case f).
func notFound(w http.ResponseWriter) { writeMessage(w, http.StatusNotFound, "404 Not found") }

func jobNotFound(w http.ResponseWriter) { writeMessage(w, http.StatusNotFound, "404 Job Not Found") }

// resourceNotFound is not_found! without a resource: capital F.
func resourceNotFound(w http.ResponseWriter) { writeMessage(w, http.StatusNotFound, "404 Not Found") }

// methodNotAllowedBody is Grape's MethodNotAllowed as lib/api/api.rb
// renders it.
func methodNotAllowedBody(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "405 Not Allowed"})
}

func routeNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
}

func keysetNotAvailable(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed,
		map[string]string{"error": "Keyset pagination is not yet available for this type of request"})
}

// setRateLimitHeaders adds the headers GitLab's throttles send with a 429,
// which a client must honour (the Go client waits until RateLimit-Reset).
func setRateLimitHeaders(h http.Header, name string, limit int, reset, now time.Time) {
	wait := int(reset.Sub(now).Round(time.Second) / time.Second)
	if wait < 1 {
		wait = 1
	}
	h.Set("Retry-After", strconv.Itoa(wait))
	h.Set("RateLimit-Name", name)
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Observed", strconv.Itoa(limit))
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
}

func rateLimited(w http.ResponseWriter, limit int, reset, now time.Time) {
	setRateLimitHeaders(w.Header(), "jobs_index", limit, reset, now)
	writeJSON(w, http.StatusTooManyRequests, map[string]map[string]string{
		"message": {"error": "This endpoint has been requested too many times. Try again later."},
	})
}
