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
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// InvalidPatternError says a rule's logPattern is not a valid RE2 expression,
// and where. The controller turns it into Stalled with reason
// InvalidLogPattern: the watch cannot work until someone fixes the spec, and
// the offset lets the message point at the mistake.
type InvalidPatternError struct {
	// Rule is the name of the rule whose pattern is invalid.
	Rule string
	// Pattern is the logPattern as written.
	Pattern string
	// Offset is the byte offset in Pattern where the error is: the start of
	// the offending piece, the unmatched ( or ), or the trailing \.
	Offset int
	// Err is the parser's error, usually a *syntax.Error.
	Err error
}

// Error names the rule, the position and what is wrong, in one line a person
// can act on (it ends up in a condition message).
func (e *InvalidPatternError) Error() string {
	what := e.Err.Error()
	var se *syntax.Error
	if errors.As(e.Err, &se) {
		what = se.Code.String()
		if se.Expr != "" && se.Expr != e.Pattern {
			what += ": `" + se.Expr + "`"
		}
	}
	return fmt.Sprintf("rule %q: invalid logPattern at offset %d: %s", e.Rule, e.Offset, what)
}

// Unwrap gives errors.As access to the *syntax.Error.
func (e *InvalidPatternError) Unwrap() error { return e.Err }

// maxOffsetSearch bounds the quadratic prefix search of patternOffset; the API
// caps logPattern at 1024 bytes, so only hand-made input is longer.
const maxOffsetSearch = 4096

// compileLogPattern compiles pattern as RE2, or says where it is wrong.
func compileLogPattern(rule, pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err == nil {
		return re, nil
	}
	return nil, &InvalidPatternError{Rule: rule, Pattern: pattern, Offset: patternOffset(pattern, err), Err: err}
}

// patternOffset finds where in pattern the error err is.
//
// syntax.Error carries the offending piece (Expr), not its position, and the
// piece may occur more than once, or be the whole pattern (for an unmatched
// parenthesis). Go's parser reads left to right and reports most errors as
// soon as it has read the offending piece, so the shortest prefix of the
// pattern that fails with the same error ends with that piece; an unmatched (
// is found only at the end, so for it the answer is where the longest valid
// prefix stops.
func patternOffset(pattern string, err error) int {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return 0
	}
	if se.Code == syntax.ErrTrailingBackslash {
		return max(len(pattern)-1, 0)
	}
	if len(pattern) > maxOffsetSearch {
		return max(strings.Index(pattern, se.Expr), 0)
	}
	switch se.Code {
	case syntax.ErrMissingParen:
		for k := len(pattern) - 1; k >= 0; k-- {
			if _, err := syntax.Parse(pattern[:k], syntax.Perl); err == nil {
				return k
			}
		}
		return 0
	case syntax.ErrUnexpectedParen:
		for k := 1; k <= len(pattern); k++ {
			if code, _, ok := parseErr(pattern[:k]); ok && code == syntax.ErrUnexpectedParen {
				return k - 1
			}
		}
	default:
		for k := 1; k <= len(pattern); k++ {
			code, expr, ok := parseErr(pattern[:k])
			if !ok || code != se.Code || expr != se.Expr {
				continue
			}
			if strings.HasSuffix(pattern[:k], expr) {
				return k - len(expr)
			}
			if i := strings.LastIndex(pattern[:k], expr); i >= 0 {
				return i
			}
			break
		}
	}
	return max(strings.Index(pattern, se.Expr), 0)
}

// parseErr parses s as regexp.Compile does and returns its error, if any.
func parseErr(s string) (syntax.ErrorCode, string, bool) {
	_, err := syntax.Parse(s, syntax.Perl)
	var se *syntax.Error
	if !errors.As(err, &se) {
		return "", "", false
	}
	return se.Code, se.Expr, true
}
