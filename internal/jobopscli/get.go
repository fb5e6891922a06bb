package jobopscli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

func newGetCommand(o *options) *cobra.Command {
	var allNamespaces bool
	var limit int
	cmd := &cobra.Command{
		Use:     "get",
		Aliases: []string{"status"},
		Short:   "Show connections, recent JobActions and JobWatches in one view",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			if allNamespaces {
				ns = ""
			}
			return get(cmd.Context(), c, o.streams.Out, ns, limit, time.Now())
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "Every namespace")
	cmd.Flags().IntVar(&limit, "limit", 10, "How many of the newest JobActions to show")
	return cmd
}

// get prints three tables: the GitLabConnections, the newest JobActions and
// the JobWatches of one namespace, or of all ("").
func get(ctx context.Context, c client.Client, out io.Writer, ns string, limit int, now time.Time) error {
	var conns civ1alpha1.GitLabConnectionList
	var actions civ1alpha1.JobActionList
	var watches civ1alpha1.JobWatchList
	for _, l := range []struct {
		list client.ObjectList
		what string
	}{{&conns, "list GitLabConnections"}, {&actions, "list JobActions"}, {&watches, "list JobWatches"}} {
		if err := c.List(ctx, l.list, client.InNamespace(ns)); err != nil {
			return explain(err, l.what, ns)
		}
	}
	all := ns == ""
	age := func(t metav1.Time) string { return duration.HumanDuration(now.Sub(t.Time)) }
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	row := func(namespace string, cols ...any) {
		if all {
			cols = append([]any{namespace}, cols...)
		}
		s := make([]string, len(cols))
		for i, c := range cols {
			s[i] = fmt.Sprint(c)
		}
		fmt.Fprintln(w, strings.Join(s, "\t"))
	}
	header := func(title string, n int, cols ...any) bool {
		fmt.Fprintf(w, "%s\n", title)
		if n == 0 {
			fmt.Fprintf(w, "  none\n\n")
			return false
		}
		row("NAMESPACE", cols...)
		return true
	}

	if header("GITLAB CONNECTIONS", len(conns.Items), "NAME", "URL", "USER", "READY", "REASON", "WEBHOOK", "AGE") {
		for _, g := range conns.Items {
			ready, reason := condition(g.Status.Conditions, civ1alpha1.ConditionReady)
			row(g.Namespace, g.Name, g.Spec.URL, dash(g.Status.Username), ready, reason, dash(g.Status.WebhookPath), age(g.CreationTimestamp))
		}
		fmt.Fprintln(w)
	}

	sort.Slice(actions.Items, func(i, j int) bool {
		return actions.Items[j].CreationTimestamp.Before(&actions.Items[i].CreationTimestamp)
	})
	title := "JOB ACTIONS"
	if len(actions.Items) > limit {
		title = fmt.Sprintf("JOB ACTIONS (newest %d of %d)", limit, len(actions.Items))
		actions.Items = actions.Items[:limit]
	}
	if header(title, len(actions.Items), "NAME", "ACTION", "PROJECT", "JOB", "RESULT", "JOB STATUS", "STATUS", "AGE") {
		for _, a := range actions.Items {
			job, result, jobStatus := "-", "-", "-"
			if a.Status.TargetJob != nil {
				job = fmt.Sprint(a.Status.TargetJob.ID)
			} else if a.Spec.JobID > 0 {
				job = fmt.Sprint(a.Spec.JobID)
			}
			if r := a.Status.ResultJob; r != nil {
				result, jobStatus = fmt.Sprint(r.ID), dash(r.Status)
			}
			row(a.Namespace, a.Name, a.Spec.Action, a.Spec.Project.String(), job, result, jobStatus, trueReason(a.Status.Conditions), age(a.CreationTimestamp))
		}
		fmt.Fprintln(w)
	}

	if header("JOB WATCHES", len(watches.Items), "NAME", "PROJECT", "LAST SYNC", "NEXT SYNC", "ACTIONS", "LAST ACTION", "READY", "REASON") {
		for _, jw := range watches.Items {
			last, next, lastAction := "never", "-", "-"
			if t := jw.Status.LastSyncTime; t != nil {
				last = age(*t) + " ago"
			}
			if t := jw.Status.NextSyncTime; t != nil && !jw.Spec.Suspend {
				if d := t.Sub(now); d > 0 {
					next = "in " + duration.HumanDuration(d)
				} else {
					next = "due"
				}
			}
			if len(jw.Status.RecentActions) > 0 {
				a := jw.Status.RecentActions[0]
				lastAction = fmt.Sprintf("%s %s #%d %s, %s ago", a.Outcome, a.Action, a.JobID, a.JobName, age(a.Time))
			}
			ready, reason := condition(jw.Status.Conditions, civ1alpha1.ConditionReady)
			if stalled, why := condition(jw.Status.Conditions, civ1alpha1.ConditionStalled); stalled == "True" {
				ready, reason = "Stalled", why
			}
			row(jw.Namespace, jw.Name, jw.Spec.Project.String(), last, next, jw.Status.TotalActions, lastAction, ready, reason)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// condition returns a condition's status and reason, or Unknown and "-".
func condition(conds []metav1.Condition, typ string) (string, string) {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return string(c.Status), c.Reason
	}
	return "Unknown", "-"
}

// trueReason is the reason of the JobAction's condition that is True:
// Complete, Failed or Progressing, as kubectl get ja shows.
func trueReason(conds []metav1.Condition) string {
	for _, c := range conds {
		if c.Status == metav1.ConditionTrue {
			return c.Type + "/" + c.Reason
		}
	}
	return "Pending"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
