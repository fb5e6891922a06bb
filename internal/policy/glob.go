/*
Copyright 2026 The gitlab-job-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package policy

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// glob is a compiled job-name or ref glob.
//
// The syntax is path.Match's (*, ?, [...], [^...], ranges, backslash escapes),
// but '/' is an ordinary character: GitLab names parallel jobs "rspec 1/4" and
// refs are often "feature/x", and a user who writes rspec* or release-* means
// them too. path.Match would stop * and ? at '/', so the glob is translated
// into an anchored RE2 expression instead, which also keeps matching linear in
// the name's length whatever the pattern.
type glob struct {
	src string
	re  *regexp.Regexp
}

// compileGlob validates pattern with path.Match (so what is accepted is
// exactly path.Match's syntax) and translates it.
func compileGlob(pattern string) (*glob, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	expr, err := globToRegexp(pattern)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		// Not expected: the translation only emits quoted literals and
		// \x{...} ranges. Report it as a bad pattern rather than panic.
		return nil, fmt.Errorf("%w: %w", path.ErrBadPattern, err)
	}
	return &glob{src: pattern, re: re}, nil
}

func (g *glob) match(s string) bool { return g.re.MatchString(s) }

// globToRegexp translates a path.Match pattern into an anchored RE2
// expression in which * and ? also match '/'.
func globToRegexp(p string) (string, error) {
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	for i := 0; i < len(p); {
		switch c := p[i]; c {
		case '*':
			b.WriteString(`.*`)
			i++
		case '?':
			b.WriteString(`.`)
			i++
		case '\\':
			if i+1 >= len(p) {
				return "", path.ErrBadPattern
			}
			r, n := utf8.DecodeRuneInString(p[i+1:])
			writeLiteral(&b, r)
			i += 1 + n
		case '[':
			n, err := writeClass(&b, p[i:])
			if err != nil {
				return "", err
			}
			i += n
		default:
			r, n := utf8.DecodeRuneInString(p[i:])
			writeLiteral(&b, r)
			i += n
		}
	}
	b.WriteString(`)\z`)
	return b.String(), nil
}

func writeLiteral(b *strings.Builder, r rune) {
	fmt.Fprintf(b, `\x{%x}`, r)
}

// writeClass translates the character class at the start of p and returns
// how many bytes of p it used. As in path.Match, a range whose low end is
// above its high end matches nothing (RE2 would refuse it), so such ranges are
// dropped, and an empty class is written as one that matches no rune (or,
// negated, any rune).
func writeClass(b *strings.Builder, p string) (int, error) {
	i := 1 // past '['
	negated := false
	if i < len(p) && p[i] == '^' {
		negated = true
		i++
	}
	type span struct{ lo, hi rune }
	var spans []span
	first := true
	for {
		if i >= len(p) {
			return 0, path.ErrBadPattern
		}
		if p[i] == ']' && !first {
			i++
			break
		}
		first = false
		lo, n, err := classChar(p[i:])
		if err != nil {
			return 0, err
		}
		i += n
		hi := lo
		if i < len(p) && p[i] == '-' {
			h, n, err := classChar(p[i+1:])
			if err != nil {
				return 0, err
			}
			hi = h
			i += 1 + n
		}
		if lo <= hi {
			spans = append(spans, span{lo, hi})
		}
	}
	switch {
	case len(spans) == 0 && negated:
		b.WriteString(`.`)
	case len(spans) == 0:
		b.WriteString(`[^\x00-\x{10ffff}]`)
	default:
		b.WriteByte('[')
		if negated {
			b.WriteByte('^')
		}
		for _, s := range spans {
			fmt.Fprintf(b, `\x{%x}-\x{%x}`, s.lo, s.hi)
		}
		b.WriteByte(']')
	}
	return i, nil
}

// classChar reads one (possibly escaped) character of a class, refusing the
// characters path.Match refuses there.
func classChar(p string) (rune, int, error) {
	if len(p) == 0 || p[0] == '-' || p[0] == ']' {
		return 0, 0, path.ErrBadPattern
	}
	if p[0] == '\\' {
		if len(p) < 2 {
			return 0, 0, path.ErrBadPattern
		}
		r, n := utf8.DecodeRuneInString(p[1:])
		return r, 1 + n, nil
	}
	r, n := utf8.DecodeRuneInString(p)
	return r, n, nil
}
