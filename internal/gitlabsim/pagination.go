package gitlabsim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Pagination headers, as GitLab's Gitlab::Pagination::OffsetHeaderBuilder
// and keyset paginator write them.

// pageURL is the request's own URL on the public base, with params replaced.
func pageURL(base string, r *http.Request, set map[string]string, drop ...string) string {
	q := r.URL.Query()
	for _, k := range drop {
		q.Del(k)
	}
	for k, v := range set {
		q.Set(k, v)
	}
	// Keep the escaped path so a project path id stays one segment (%2F).
	return base + r.URL.EscapedPath() + "?" + q.Encode()
}

func link(u, rel string) string { return "<" + u + `>; rel="` + rel + `"` }

// offsetWindow converts page and per_page to a skip, guarding against
// overflow on absurd page numbers (which simply give an empty page).
func offsetWindow(page int64, perPage int) (skip int, ok bool) {
	if page < 1 {
		page = 1
	}
	if page-1 > int64(math.MaxInt32)/int64(perPage) {
		return 0, false
	}
	return int((page - 1) * int64(perPage)), true
}

// setOffsetHeaders writes X-Page, X-Per-Page, X-Next-Page, X-Prev-Page and
// Link. total < 0 means "without count" (the project jobs list): no X-Total,
// X-Total-Pages or rel="last", and hasNext decides the next page.
func setOffsetHeaders(w http.ResponseWriter, base string, r *http.Request, page int64, perPage int, hasNext bool, total int) {
	h := w.Header()
	next, prev := "", ""
	if hasNext {
		next = strconv.FormatInt(page+1, 10)
	}
	if page > 1 {
		prev = strconv.FormatInt(page-1, 10)
	}
	pp := strconv.Itoa(perPage)
	h.Set("X-Page", strconv.FormatInt(page, 10))
	h.Set("X-Per-Page", pp)
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	var links []string
	at := func(p string) string {
		return pageURL(base, r, map[string]string{"page": p, "per_page": pp})
	}
	if prev != "" {
		links = append(links, link(at(prev), "prev"))
	}
	if next != "" {
		links = append(links, link(at(next), "next"))
	}
	links = append(links, link(at("1"), "first"))
	if total >= 0 {
		pages := (total + perPage - 1) / perPage
		if pages < 1 {
			pages = 1
		}
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		links = append(links, link(at(strconv.Itoa(pages)), "last"))
	}
	h.Set("Link", strings.Join(links, ", "))
}

// setKeysetHeaders writes the only header keyset pagination gives: a Link to
// the next page, absent on the last page.
func setKeysetHeaders(w http.ResponseWriter, base string, r *http.Request, perPage int, lastID int64, hasNext bool) {
	if !hasNext {
		return
	}
	u := pageURL(base, r, map[string]string{
		"cursor": encodeCursor(lastID), "per_page": strconv.Itoa(perPage),
		"pagination": "keyset", "order_by": "id", "sort": "desc",
	}, "page")
	w.Header().Set("Link", link(u, "next"))
}

// paginateSlice applies offset pagination to an in-memory list (pipeline
// jobs and bridges: small per pipeline).
func paginateSlice[T any](items []T, page int64, perPage int) (out []T, hasNext bool) {
	skip, ok := offsetWindow(page, perPage)
	if !ok || skip >= len(items) {
		return []T{}, false
	}
	end := min(skip+perPage, len(items))
	return items[skip:end], end < len(items)
}
