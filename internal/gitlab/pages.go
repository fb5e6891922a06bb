package gitlab

import (
	"context"
	"iter"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// pages walks a paginated list with the library's Scan2, which follows
// whichever next page a response names (keyset Link header or offset
// X-Next-Page). What it adds around the library:
//
//   - each page is one call of its own (startCall): its own retries, its own
//     attempt in the metrics under endpoint, and its own classified error,
//     which ends the walk;
//   - a consumer that stops ranging stops the walk: Scan2 fetches the next
//     page only when the previous one was read to the end;
//   - a next page that does not move forward ends the walk (see progress).
//
// list is one library call with the page's request options appended.
func pages[T any](ctx context.Context, c *client, endpoint string,
	list func(opts ...gl.RequestOptionFunc) ([]T, *gl.Response, error)) iter.Seq2[T, error] {
	walk := newProgress()
	return gl.Scan2(func(next gl.PaginationOptionFunc) ([]T, *gl.Response, error) {
		callCtx, info := startCall(ctx, http.MethodGet, endpoint)
		opts := []gl.RequestOptionFunc{gl.WithContext(callCtx)}
		if next != nil {
			opts = append(opts, next)
		}
		items, resp, err := list(opts...)
		if err != nil {
			return nil, nil, c.fail(err, info)
		}
		return items, walk.check(resp), nil
	})
}

// progress remembers where a walk has been, so that a server (or a proxy in
// front of it) that names a page already read as the next one cannot make
// the walk loop forever: Scan2 follows any next page it is given.
type progress struct {
	links map[string]bool // keyset next links already followed
	page  int64           // the offset page just read; the first is 1
}

func newProgress() *progress { return &progress{links: map[string]bool{}, page: 1} }

// check returns resp when the page it names next moves the walk forward,
// and otherwise a copy of resp that names no next page, which ends Scan2.
// It looks at the next page the way gl.WithNext picks it: a keyset link
// first, else an offset page number.
func (p *progress) check(resp *gl.Response) *gl.Response {
	if resp == nil {
		return &gl.Response{}
	}
	switch {
	case resp.PageInfo != nil:
		// GraphQL cursors: no REST list here uses them.
		return lastPage(resp)
	case resp.NextLink != "":
		if p.links[resp.NextLink] {
			return lastPage(resp)
		}
		p.links[resp.NextLink] = true
	case resp.NextPage != 0:
		if resp.NextPage <= p.page {
			return lastPage(resp)
		}
		p.page = resp.NextPage
	}
	return resp
}

// lastPage is resp with no next page.
func lastPage(resp *gl.Response) *gl.Response {
	last := *resp
	last.NextLink, last.NextPage, last.PageInfo = "", 0, nil
	return &last
}
