package e2e

import (
	"context"
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// The specs read objects as kubectl prints them (-o json), decoded into the
// API's own types: a field renamed in the API breaks the build here, not a
// spec at run time.

// trueCondition returns "Type/Reason" of the condition of that type when it
// is True, or "".
func trueCondition(conditions []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conditions, typ); c != nil && c.Status == metav1.ConditionTrue {
		return c.Type + "/" + c.Reason
	}
	return ""
}

// jobActions lists the namespace's JobActions by name.
func (w *world) jobActions(ctx context.Context) map[string]civ1alpha1.JobAction {
	GinkgoHelper()
	var list civ1alpha1.JobActionList
	Expect(json.Unmarshal([]byte(run(ctx, "get", "jobactions", "-n", w.ns, "-o", "json")), &list)).To(Succeed())
	out := make(map[string]civ1alpha1.JobAction, len(list.Items))
	for _, ja := range list.Items {
		out[ja.Name] = ja
	}
	return out
}

// jobWatch reads one JobWatch of the namespace.
func (w *world) jobWatch(ctx context.Context, name string) civ1alpha1.JobWatch {
	GinkgoHelper()
	var jw civ1alpha1.JobWatch
	Expect(json.Unmarshal([]byte(run(ctx, "get", "jobwatch", name, "-n", w.ns, "-o", "json")), &jw)).To(Succeed())
	return jw
}

// recentActions lists a JobWatch's recent actions as "rule action jobID
// jobName outcome", newest first.
func (w *world) recentActions(ctx context.Context, name string) []string {
	GinkgoHelper()
	var out []string
	for _, a := range w.jobWatch(ctx, name).Status.RecentActions {
		out = append(out, fmt.Sprintf("%s %s %d %s %s", a.Rule, a.Action, a.JobID, a.JobName, a.Outcome))
	}
	return out
}
