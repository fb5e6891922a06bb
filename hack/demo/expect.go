package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The annotations by which a demo manifest declares the outcome it expects,
// so that DEMO_EXIT=1 checks any kind the same way (see config/demo/README.md).
const (
	// annotationExpect is "<ConditionType>/<Reason>": met when that condition
	// is True with that reason, e.g. "Complete/Succeeded",
	// "Failed/NotRetryable", "Ready/Succeeded".
	annotationExpect = "demo.jobops.dev/expect"
	// annotationExpectMinActions is a count: met when .status.totalActions
	// (a JobWatch's) is at least that.
	annotationExpectMinActions = "demo.jobops.dev/expect-min-actions"
)

// terminalConditions end an object's story: once one is True, a different
// outcome than the expected one can no longer come.
var terminalConditions = map[string]bool{"Complete": true, "Failed": true, "Stalled": true}

func (o object) id() string { return strings.ToLower(o.Kind) + "/" + o.Name }

// state is a short description of where an object is: its True conditions.
func (o object) state() string {
	var s []string
	for _, c := range o.Conditions {
		if c.Status == metav1.ConditionTrue {
			s = append(s, c.Type+"/"+c.Reason)
		}
	}
	if o.TotalActions != nil {
		s = append(s, fmt.Sprintf("totalActions=%d", *o.TotalActions))
	}
	if len(s) == 0 {
		return "no status yet"
	}
	return strings.Join(s, ", ")
}

// message is the message of the object's first True condition.
func (o object) message() string {
	for _, c := range o.Conditions {
		if c.Status == metav1.ConditionTrue && c.Message != "" {
			return c.Message
		}
	}
	return ""
}

type verdict int

const (
	pending verdict = iota // not there yet
	met                    // reached the expected outcome
	missed                 // cannot reach it any more, or the annotation is wrong
)

// result is one expectation of one object.
type result struct {
	ID      string
	Want    string
	Got     string
	Verdict verdict
	Message string
}

// evaluate checks every expectation of the objects, in a stable order.
// Objects without an expectation annotation are not waited for.
func evaluate(objs []object) []result {
	var out []result
	for _, o := range objs {
		if want, ok := o.Annotations[annotationExpect]; ok {
			out = append(out, expectCondition(o, want))
		}
		if want, ok := o.Annotations[annotationExpectMinActions]; ok {
			out = append(out, expectMinActions(o, want))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func expectCondition(o object, want string) result {
	r := result{ID: o.id(), Want: want, Got: o.state(), Message: o.message()}
	typ, reason, ok := strings.Cut(want, "/")
	if !ok || typ == "" || reason == "" {
		r.Verdict, r.Message = missed, fmt.Sprintf("bad %s annotation %q: want <ConditionType>/<Reason>", annotationExpect, want)
		return r
	}
	for _, c := range o.Conditions {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		if c.Type == typ && c.Reason == reason {
			r.Verdict, r.Message = met, c.Message
			return r
		}
		if terminalConditions[c.Type] {
			r.Verdict, r.Message = missed, c.Message
		}
	}
	return r
}

func expectMinActions(o object, want string) result {
	r := result{ID: o.id(), Want: "totalActions>=" + want, Got: o.state(), Message: o.message()}
	n, err := strconv.ParseInt(want, 10, 64)
	if err != nil || n < 0 {
		r.Verdict, r.Message = missed, fmt.Sprintf("bad %s annotation %q: want a count", annotationExpectMinActions, want)
		return r
	}
	if o.TotalActions != nil && *o.TotalActions >= n {
		r.Verdict = met
	}
	return r
}

// settled says whether every expectation is decided.
func settled(rs []result) bool {
	for _, r := range rs {
		if r.Verdict == pending {
			return false
		}
	}
	return true
}

// allMet says whether every expectation was met (and there was one at least).
func allMet(rs []result) bool {
	for _, r := range rs {
		if r.Verdict != met {
			return false
		}
	}
	return len(rs) > 0
}

// fingerprint changes when anything a reader of the table cares about
// changes (not the AGE column), so a log shows each change once.
func fingerprint(objs []object) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s %s", o.id(), o.state())
		if j := o.ResultJob; j != nil {
			fmt.Fprintf(&b, " job %d %s", j.ID, j.Status)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
