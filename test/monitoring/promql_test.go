// Package monitoring tests the alerting rules (config/prometheus) and the
// Grafana dashboard (config/grafana): promtool unit-tests every alert, and a
// real manager on an envtest control plane is scraped to prove that every
// metric they query is one the operator exports.
package monitoring

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// promqlKeywords are the words of PromQL that are not metric names when they
// stand without a following parenthesis (aggregations take one later, after
// a by or without clause).
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true, "inf": true, "nan": true,
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "count_values": true, "stddev": true,
	"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "group": true, "limitk": true, "limit_ratio": true,
}

// labelListKeywords are followed by a parenthesized list of label names.
var labelListKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// metricNames returns the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges, label lists,
// functions, keywords, numbers and Grafana variables are taken out.
func metricNames(expr string) []string {
	var names []string
	r := []rune(expr)
	skipTo := func(i int, open, close rune) int { // i at open; returns the index after the matching close
		depth := 0
		for ; i < len(r); i++ {
			switch r[i] {
			case '"', '\'', '`':
				i = skipString(r, i) - 1
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(r, i)
		case c == '{':
			i = skipTo(i, '{', '}')
		case c == '[':
			i = skipTo(i, '[', ']')
		case c == '$': // a Grafana variable
			i++
			for i < len(r) && isIdent(r[i]) {
				i++
			}
		case unicode.IsDigit(c) || c == '.':
			for i < len(r) && (isIdent(r[i]) || r[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(r) && isIdent(r[i]) {
				i++
			}
			word := string(r[start:i])
			next := i
			for next < len(r) && unicode.IsSpace(r[next]) {
				next++
			}
			switch {
			case labelListKeywords[word] && next < len(r) && r[next] == '(':
				i = skipTo(next, '(', ')')
			case next < len(r) && r[next] == '(', promqlKeywords[word]:
				// a function call or a keyword
			default:
				if !slices.Contains(names, word) {
					names = append(names, word)
				}
			}
		default:
			i++
		}
	}
	return names
}

func skipString(r []rune, i int) int {
	quote := r[i]
	for i++; i < len(r); i++ {
		if r[i] == '\\' && quote != '`' {
			i++
		} else if r[i] == quote {
			return i + 1
		}
	}
	return i
}

func isIdentStart(c rune) bool { return c == '_' || c == ':' || unicode.IsLetter(c) }
func isIdent(c rune) bool      { return isIdentStart(c) || unicode.IsDigit(c) }

func TestMetricNamesFindsTheSelectedMetricsOnly(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (le, endpoint) (rate(gitlab_request_duration_seconds_bucket{connection=~"$connection", code!="by"}[$__rate_interval]))`: "gitlab_request_duration_seconds_bucket",
		`(time() - a_ts) > 3 * b_interval unless on (namespace, jobwatch) (c_suspended == 1)`:                                           "a_ts b_interval c_suspended",
		`absent(up{job="x"}) or vector(0)`: "up",
		`sum(rate(x_total{outcome="failed"}[1h])) / sum without (pod) (increase(y_total[1h] offset 5m)) > 0.25`: "x_total y_total",
		`histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) and on() count(z) >= 5e3`:                    "h_bucket z",
		`topk(10, sum by (namespace, jobwatch, rule) (increase(w_total[1h])))`:                                  "w_total",
	} {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("metricNames(%s) = %q, want %q", expr, got, want)
		}
	}
}
