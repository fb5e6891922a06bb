package jobopscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// SourceAnnotation records, on a JobAction the plugin makes, the job as the
// person gave it (a URL or group/app#123), for whoever reads it later.
const SourceAnnotation = "kubectl-jobops.ci.jobops.dev/job"

// options are the flags every command shares: kubectl's (--namespace,
// --context, --kubeconfig, --as...) from cli-runtime.
type options struct {
	config  *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	scheme  *runtime.Scheme
}

// NewCommand returns `kubectl jobops`.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{config: genericclioptions.NewConfigFlags(true), streams: streams, scheme: runtime.NewScheme()}
	_ = civ1alpha1.AddToScheme(o.scheme)
	root := &cobra.Command{
		Use:   "kubectl-jobops",
		Short: "Act on GitLab CI jobs through gitlab-job-operator",
		Long: `Act on GitLab CI jobs through gitlab-job-operator: each action is a JobAction
the operator carries out exactly once, with the connection's token.

A job is its web URL, as copied from GitLab, or project#id:
  kubectl jobops retry https://gitlab.example.com/group/app/-/jobs/123 --wait
  kubectl jobops play group/app#124 --var DEPLOY_REASON=hotfix --dry-run=client -o yaml > play.yaml
  kubectl jobops get -A`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl jobops"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	o.config.AddFlags(root.PersistentFlags())
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	for _, a := range []civ1alpha1.ActionType{civ1alpha1.ActionRetry, civ1alpha1.ActionPlay, civ1alpha1.ActionCancel, civ1alpha1.ActionErase} {
		root.AddCommand(newActionCommand(o, a))
	}
	root.AddCommand(newGetCommand(o))
	return root
}

func (o *options) client() (client.Client, string, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: o.scheme})
	return c, ns, err
}

var actionHelp = map[civ1alpha1.ActionType]string{
	civ1alpha1.ActionRetry:  "Retry a finished job (GitLab makes a new job)",
	civ1alpha1.ActionPlay:   "Play a manual job, with variables",
	civ1alpha1.ActionCancel: "Cancel a job that has not finished",
	civ1alpha1.ActionErase:  "Erase a finished job's log and artifacts",
}

type actionFlags struct {
	connection, name, dryRun  string
	wait, followResult, force bool
	timeout, ttl              time.Duration
	vars, varsFromSecrets     []string
	print                     *genericclioptions.PrintFlags
}

func newActionCommand(o *options, action civ1alpha1.ActionType) *cobra.Command {
	f := &actionFlags{print: genericclioptions.NewPrintFlags("created").WithTypeSetter(o.scheme)}
	verb := strings.ToLower(string(action))
	cmd := &cobra.Command{
		Use:   verb + " <job URL | project#id>",
		Short: actionHelp[action],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAction(cmd.Context(), o, f, action, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.connection, "connection", "", "The GitLabConnection to act through (default: the one whose URL matches the job's, or the only one)")
	fl.StringVar(&f.name, "name", "", "The JobAction's name (default: "+verb+"-<project>-<job id>-<random>)")
	fl.StringVar(&f.dryRun, "dry-run", "none", `"client" prints the JobAction without sending it (with -o yaml: a manifest for Git); "server" has the API server check it; "none" creates it`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
	fl.BoolVar(&f.wait, "wait", false, "Wait until the JobAction is Complete or Failed, and print the outcome and the resulting job's URL")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "How long --wait waits")
	fl.BoolVar(&f.followResult, "follow-result", true, "Complete only when the resulting job finishes (Retry, Play); false: when GitLab accepts the action")
	fl.DurationVar(&f.ttl, "ttl", 0, "Delete the JobAction this long after it finishes (default: keep it)")
	if action == civ1alpha1.ActionPlay {
		fl.StringArrayVar(&f.vars, "var", nil, "KEY=VALUE: a variable for the job (repeatable)")
		fl.StringArrayVar(&f.varsFromSecrets, "var-from-secret", nil, "KEY=secret/key: a variable whose value is a key of a Secret in the namespace (repeatable)")
	}
	if action == civ1alpha1.ActionCancel {
		fl.BoolVar(&f.force, "force", false, "Cancel even if the job is already canceling")
	}
	f.print.AddFlags(cmd)
	return cmd
}

func runAction(ctx context.Context, o *options, f *actionFlags, action civ1alpha1.ActionType, arg string) error {
	if f.dryRun != "none" && f.dryRun != "client" && f.dryRun != "server" {
		return fmt.Errorf(`--dry-run must be "none", "client" or "server", not %q`, f.dryRun)
	}
	if f.wait && f.dryRun != "none" {
		return errors.New("--wait waits for a JobAction that was created: not with --dry-run")
	}
	ref, err := ParseJobRef(arg)
	if err != nil {
		return err
	}
	vars, err := ParseVariables(f.vars, f.varsFromSecrets)
	if err != nil {
		return err
	}
	c, ns, err := o.client()
	if err != nil {
		return err
	}
	var conn Connection
	if f.connection != "" && ref.URL == nil {
		conn = Connection{Name: f.connection} // the short form needs nothing of the connection but its name
	} else {
		conns, err := listConnections(ctx, c, ns)
		if err != nil {
			return err
		}
		if conn, err = Resolve(&ref, conns, f.connection); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	ja := &civ1alpha1.JobAction{
		TypeMeta:   metav1.TypeMeta{APIVersion: civ1alpha1.GroupVersion.String(), Kind: "JobAction"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: f.name, Annotations: map[string]string{SourceAnnotation: ref.Given}},
		Spec: civ1alpha1.JobActionSpec{
			ConnectionRef: civ1alpha1.ConnectionReference{Name: conn.Name},
			Project:       intstr.FromString(ref.Project),
			Action:        action,
			JobID:         ref.JobID,
			Variables:     vars,
			Force:         f.force,
		},
	}
	if !f.followResult {
		ja.Spec.FollowResult = &f.followResult
	}
	if f.ttl > 0 {
		ttl := int32(min(f.ttl/time.Second, 31536000))
		ja.Spec.TTLSecondsAfterFinished = &ttl
	}
	generated := f.name == ""
	if generated {
		ja.Name = GenerateName(action, ref.Project, ref.JobID)
	}
	switch f.dryRun {
	case "client":
		return o.print(f, ja, " (dry run)")
	case "server":
		err = c.Create(ctx, ja, client.DryRunAll)
	default:
		err = c.Create(ctx, ja)
		if apierrors.IsAlreadyExists(err) && generated { // a random suffix taken: draw another
			ja.Name = GenerateName(action, ref.Project, ref.JobID)
			err = c.Create(ctx, ja)
		}
	}
	if err != nil {
		return explain(err, "create JobActions", ns)
	}
	suffix := ""
	if f.dryRun == "server" {
		suffix = " (server dry run)"
	}
	if err := o.print(f, ja, suffix); err != nil {
		return err
	}
	if !f.wait {
		return nil
	}
	return waitForOutcome(ctx, c, o.streams.Out, ja, f.timeout)
}

// print writes the JobAction as -o asks, or kubectl's one line; a manifest
// leaves out what only the server fills in, so it can go to Git as is.
func (o *options) print(f *actionFlags, ja *civ1alpha1.JobAction, suffix string) error {
	if err := f.print.Complete("%s" + suffix); err != nil {
		return err
	}
	p, err := f.print.ToPrinter()
	if err != nil {
		return err
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ja)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: raw}
	// The client empties TypeMeta when it decodes the server's answer.
	u.SetAPIVersion(civ1alpha1.GroupVersion.String())
	u.SetKind("JobAction")
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if f.dryRun == "client" {
		for _, k := range []string{"uid", "resourceVersion", "generation", "managedFields"} {
			unstructured.RemoveNestedField(u.Object, "metadata", k)
		}
	}
	return p.PrintObj(u, o.streams.Out)
}

// waitForOutcome follows the JobAction until Complete or Failed and prints
// how it ended; Failed is an error, so scripts can test the exit status.
func waitForOutcome(ctx context.Context, c client.Client, out io.Writer, ja *civ1alpha1.JobAction, timeout time.Duration) error {
	key := client.ObjectKeyFromObject(ja)
	var done *metav1.Condition
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, ja); err != nil {
			return false, err
		}
		for _, t := range []string{civ1alpha1.ConditionComplete, civ1alpha1.ConditionFailed} {
			if cond := meta.FindStatusCondition(ja.Status.Conditions, t); cond != nil && cond.Status == metav1.ConditionTrue {
				done = cond
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		if wait.Interrupted(err) {
			return fmt.Errorf("jobaction %s: not finished after %s (kubectl get ja %s -n %s -o wide)", key.Name, timeout, key.Name, key.Namespace)
		}
		return explain(err, "read JobActions", key.Namespace)
	}
	fmt.Fprintf(out, "jobaction %s: %s (%s): %s\n", key.Name, done.Type, done.Reason, done.Message)
	if j := ja.Status.ResultJob; j != nil {
		fmt.Fprintf(out, "result: job %d %s %s\n", j.ID, j.Status, j.WebURL)
	}
	if done.Type == civ1alpha1.ConditionFailed {
		return fmt.Errorf("jobaction %s failed: %s", key.Name, done.Reason)
	}
	return nil
}

func listConnections(ctx context.Context, c client.Client, ns string) ([]Connection, error) {
	var list civ1alpha1.GitLabConnectionList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, explain(err, "list GitLabConnections", ns)
	}
	conns := make([]Connection, len(list.Items))
	for i, g := range list.Items {
		conns[i] = Connection{Name: g.Name, URL: g.Spec.URL}
	}
	return conns, nil
}

// explain turns the API server's refusals into what to do about them.
func explain(err error, what, ns string) error {
	where := "in namespace " + ns
	if ns == "" {
		where = "in any namespace"
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not %s %s: ask for the gitlab-job-operator editor role (or viewer, to read), which the edit and view roles include: %w", what, where, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster does not know who you are (kubectl config current-context, then log in again): %w", err)
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err) && strings.Contains(err.Error(), "the server could not find the requested resource"):
		return fmt.Errorf("gitlab-job-operator's CRDs are not installed in this cluster: %w", err)
	case apierrors.IsInvalid(err):
		return fmt.Errorf("the API server refused the JobAction: %w", err)
	}
	return err
}
