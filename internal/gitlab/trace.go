package gitlab

import (
	"context"
	"net/http"
	"strconv"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// TraceTail reads the log through the library's raw request API with an
// io.Writer as the destination, which the library fills with io.Copy as
// the body arrives; GetTraceFile would hold the whole log (tens of MB) in
// memory first.
func (c *client) TraceTail(ctx context.Context, project string, jobID int64, maxBytes int) ([]byte, error) {
	if maxBytes <= 0 {
		return nil, configError("maxBytes must be positive")
	}
	pid, _, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	var id string
	switch v := pid.(type) {
	case int64:
		id = strconv.FormatInt(v, 10)
	case string:
		id = v
	}
	ctx, info := startCall(ctx, http.MethodGet, epTrace)
	path := "projects/" + gl.PathEscape(id) + "/jobs/" + strconv.FormatInt(jobID, 10) + "/trace"
	req, err := c.gl.NewRequest(http.MethodGet, path, nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return nil, configError("cannot build the trace request")
	}
	tail := newTailBuffer(maxBytes)
	if _, err := c.gl.Do(req, tail); err != nil {
		return nil, c.fail(err, info)
	}
	return tail.Bytes(), nil
}

// tailBuffer is an io.Writer that keeps only the last max bytes written:
// it fills up to max, then overwrites its oldest bytes in a ring.
type tailBuffer struct {
	max int
	buf []byte
	pos int // next byte to overwrite, once len(buf) == max
}

func newTailBuffer(maxBytes int) *tailBuffer {
	// Start small: most logs are short, and a large maxBytes should not
	// cost its full size for them.
	return &tailBuffer{max: maxBytes, buf: make([]byte, 0, min(maxBytes, 32<<10))}
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		p = p[len(p)-t.max:] // only the end of p can survive
	}
	if room := t.max - len(t.buf); room > 0 {
		k := min(room, len(p))
		t.buf = append(t.buf, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(t.buf[t.pos:], p)
		p = p[k:]
		t.pos = (t.pos + k) % t.max
	}
	return n, nil
}

// Bytes returns the kept bytes in order, as a new slice.
func (t *tailBuffer) Bytes() []byte {
	out := make([]byte, len(t.buf))
	k := copy(out, t.buf[t.pos:])
	copy(out[k:], t.buf[:t.pos])
	return out
}
