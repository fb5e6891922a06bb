package gitlabsim

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Query parameters of the list endpoints, validated as Grape does. A bad
// value is a parameter error (400 {"error":"<param> ..."}), never a panic or
// a 500: this file is what FuzzListQuery exercises.

const (
	defaultPerPage = 20
	maxPerPage     = 100
)

type listQuery struct {
	scope          []string // deduplicated statuses; empty: all
	page           int64
	perPage        int
	keyset         bool
	orderBy        string
	sort           string
	cursor         int64 // keyset: only ids below this one; 0: from the newest
	includeRetried bool
}

// listKind selects the endpoint's rules.
type listKind int

const (
	listProjectJobs  listKind = iota // scope hash form allowed, keyset allowed
	listPipelineJobs                 // include_retried, scope hash form is 400
	listBridges
)

type paramErr struct{ msg string }

func (e *paramErr) Error() string { return e.msg }

// parseListQuery validates the query string of a list request. raw is the
// URL's RawQuery: scope is read from it pair by pair, in order, because that
// order decides what Rack makes of a repeated key.
func parseListQuery(raw string, kind listKind) (listQuery, error) {
	q, _ := url.ParseQuery(raw) // pairs that do not decode are skipped, as before
	lq := listQuery{page: 1, perPage: defaultPerPage}
	scope, err := parseScope(raw, kind)
	if err != nil {
		return lq, err
	}
	lq.scope = scope
	if err := parsePage(q, &lq); err != nil {
		return lq, err
	}
	if kind == listPipelineJobs {
		if v, ok := lastValue(q, "include_retried"); ok {
			b, ok := parseBool(v)
			if !ok {
				return lq, &paramErr{"include_retried is invalid"}
			}
			lq.includeRetried = b
		}
	}
	if v, ok := lastValue(q, "pagination"); ok {
		switch v {
		case "keyset":
			lq.keyset = true
		case "offset":
		default:
			return lq, &paramErr{"pagination does not have a valid value"}
		}
	}
	lq.orderBy, _ = lastValue(q, "order_by")
	lq.sort, _ = lastValue(q, "sort")
	if lq.keyset {
		if v, ok := lastValue(q, "cursor"); ok && v != "" {
			id, ok := decodeCursor(v)
			if !ok {
				return lq, &badRequestErr{"Invalid cursor value"}
			}
			lq.cursor = id
		}
	}
	return lq, nil
}

// parsePage reads page and per_page as the pagination params of
// lib/api/pagination_params.rb declare them: integers, per_page with
// except_values: [0], so per_page=0 is Grape's "has a value not allowed".
// Other values below 1 pass validation and Kaminari falls back to its
// defaults; above 100 it caps.
func parsePage(q url.Values, lq *listQuery) error {
	if v, ok := lastValue(q, "page"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return &paramErr{"page is invalid"}
		}
		lq.page = max(n, 1) // Kaminari treats page <= 0 as the first page
	}
	if v, ok := lastValue(q, "per_page"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return &paramErr{"per_page is invalid"}
		}
		switch {
		case n == 0:
			return &paramErr{"per_page has a value not allowed"}
		case n < 1:
			lq.perPage = defaultPerPage
		case n > maxPerPage:
			lq.perPage = maxPerPage
		default:
			lq.perPage = int(n)
		}
	}
	return nil
}

// badRequestErr is a 400 with GitLab's "400 Bad request - <reason>" body.
type badRequestErr struct{ reason string }

func (e *badRequestErr) Error() string { return e.reason }

func lastValue(q url.Values, key string) (string, bool) {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// parseScope reads scope=x, scope[]=x&scope[]=y and, on the project jobs
// list, the hash form scope[a]=x (Grape coerces a hash to its values), as
// Rack's nested query parser builds them: pair by pair, in order. A plain key
// replaces whatever came before it, so scope=a&scope=b is "b" alone; []
// appends; a [] or [key] pair after a plain value is Rack's
// ParameterTypeError, which Grape answers as conflicting types.
func parseScope(raw string, kind listKind) ([]string, error) {
	const (
		none = iota
		plain
		array
		hash
	)
	form := none
	var vals []string
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || (key != "scope" && !strings.HasPrefix(key, "scope[")) {
			continue
		}
		switch key {
		case "scope":
			form, vals = plain, []string{val}
		case "scope[]":
			if form != none && form != array {
				return nil, &paramErr{"query params contains conflicting types"}
			}
			form, vals = array, append(vals, val)
		default:
			if form != none && form != hash {
				return nil, &paramErr{"query params contains conflicting types"}
			}
			if kind != listProjectJobs {
				return nil, &paramErr{"scope is invalid"}
			}
			form, vals = hash, append(vals, val)
		}
	}
	if form == none {
		return nil, nil
	}
	out := make([]string, 0, len(vals))
	dup := map[string]bool{}
	for _, v := range vals {
		if !IsValidStatus(v) {
			return nil, &paramErr{"scope does not have a valid value"}
		}
		if !dup[v] {
			dup[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// parseBool accepts the spellings Grape's Boolean coercion does.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "t", "1", "yes", "y", "on":
		return true, true
	case "false", "f", "0", "no", "n", "off":
		return false, true
	}
	return false, false
}

// Keyset cursors are opaque to clients; like GitLab's they are base64 JSON
// holding the last id of the page.
type cursorBody struct {
	ID string `json:"id"`
	KD string `json:"_kd"`
}

func encodeCursor(id int64) string {
	b, _ := json.Marshal(cursorBody{ID: itoa(id), KD: "n"})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (int64, bool) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return 0, false
		}
	}
	var c cursorBody
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(c.ID, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}
