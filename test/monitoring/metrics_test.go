package monitoring

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/controllers"
	"github.com/jobops-dev/gitlab-job-operator/internal/devenv"
	"github.com/jobops-dev/gitlab-job-operator/internal/gitlabsim"
	"github.com/jobops-dev/gitlab-job-operator/internal/testenv"
)

// queriedMetrics returns every metric name the alerting rules and the
// dashboard query, with where each is queried.
func queriedMetrics(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			for _, m := range metricNames(r.Expr) {
				used[m] = "alert " + r.Alert
			}
		}
	}
	raw, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, m := range metricNames(target.Expr) {
				used[m] = "panel " + p.Title
			}
		}
	}
	labelValues := regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			used[m[1]] = "variable " + v.Name
		}
	}
	return used
}

// A real manager (controllers.SetupAll on an envtest control plane, the
// GitLab simulator's demo world, a connection, a JobAction, a dry-run
// JobWatch and one webhook delivery) is scraped until every metric the
// alerts and the dashboard query has appeared.
func TestDashboardAndAlertsQueryOnlyExportedMetrics(t *testing.T) {
	used := queriedMetrics(t)
	if len(used) < 10 {
		t.Fatalf("only %d metrics found in the rules and the dashboard: %v", len(used), used)
	}
	metricsURL, webhookURL := startManager(t)
	resp, err := http.Post(webhookURL+"/hooks/not-a-connection", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	deadline := time.Now().Add(90 * time.Second)
	var missing []string
	var exported map[string]bool
	for {
		exported, err = scrape(metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		missing = missing[:0]
		for m := range used {
			if !exported[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s (in %s) is not exported by the manager", m, used[m])
	}
}

// startManager runs the controllers against an envtest API server and the
// simulator's demo world, creates objects that make every kind of metric
// move, and returns the metrics and webhook receiver URLs.
func startManager(t *testing.T) (metricsURL, webhookURL string) {
	t.Helper()
	ctrl.SetLogger(logr.Discard()) // the test reads metrics, not logs
	env, cfg, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	sim := gitlabsim.New(gitlabsim.Options{Seed: 1})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if _, err := gitlabsim.LoadDemoWorld(sim, gitlabsim.DemoOptions{}); err != nil {
		t.Fatal(err)
	}

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = civ1alpha1.AddToScheme(scheme)
	metricsAddr, err := devenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	webhookAddr, err := devenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: metricsAddr}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.SetupAll(mgr, controllers.Options{WebhookAddr: webhookAddr}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "metrics"
	project := intstr.FromString("platform/app")
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitlab-token"}, StringData: map[string]string{"token": gitlabsim.DemoToken}},
		&civ1alpha1.GitLabConnection{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitlab"}, Spec: civ1alpha1.GitLabConnectionSpec{
			URL: simURL, TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token"}}},
		&civ1alpha1.JobAction{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "retry-rspec"}, Spec: civ1alpha1.JobActionSpec{
			ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"}, Project: project, Action: civ1alpha1.ActionRetry, JobID: 5}},
		&civ1alpha1.JobWatch{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "retry-failed"}, Spec: civ1alpha1.JobWatchSpec{
			ConnectionRef: civ1alpha1.ConnectionReference{Name: "gitlab"}, Project: project, DryRun: true,
			Rules: []civ1alpha1.WatchRule{{Name: "failed", Action: civ1alpha1.ActionRetry}}}},
	}
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
	return "http://" + metricsAddr + "/metrics", "http://" + webhookAddr
}

// scrape returns the names of the samples the metrics endpoint serves (a
// histogram's are its _bucket, _sum and _count).
func scrape(url string) (map[string]bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names, sc.Err()
}
