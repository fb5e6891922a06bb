package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// report prints each expectation's verdict, and for a missed one what the
// object says instead and where to look.
func (d *demo) report(rs []result) {
	fmt.Fprintln(d.out)
	if len(rs) == 0 {
		d.logf("no object in %s carries a %s or %s annotation: nothing to check", Namespace, annotationExpect, annotationExpectMinActions)
		return
	}
	missedAny := false
	for _, r := range rs {
		mark := "ok     "
		switch r.Verdict {
		case pending:
			mark, missedAny = "PENDING", true
		case missed:
			mark, missedAny = "MISSED ", true
		}
		fmt.Fprintf(d.out, "  %s %-40s want %-24s got %s\n", mark, r.ID, r.Want, r.Got)
		if r.Verdict != met && r.Message != "" {
			fmt.Fprintf(d.out, "          %s\n", r.Message)
		}
	}
	if missedAny {
		d.logf("some objects did not reach their expected outcome; see %s", d.rel(filepath.Join(d.logDir(), "manager.log")))
		return
	}
	d.logf("every object reached its expected outcome")
}

// instructions tell the user how to look around while the demo runs.
func (d *demo) instructions() {
	kubectl := d.rel(d.cp.Kubectl.Path)
	fmt.Fprintf(d.out, `
The demo keeps running. In another terminal:

  export KUBECONFIG=%s
  kubectl get gitlab -A                  # kubectl %s if you have none
  kubectl get jobactions -n %s -o wide   # with each one's message

  set -a; . %s; set +a              # GITLAB_URL, GITLAB_TOKEN, GITLAB_SIM_ADMIN_TOKEN
  curl -s -H "PRIVATE-TOKEN: $GITLAB_TOKEN" "$GITLAB_URL/api/v4/projects/platform%%2Fapp/jobs"
  curl -s -H "X-Sim-Admin-Token: $GITLAB_SIM_ADMIN_TOKEN" "$GITLAB_URL/-/sim/stats"

Logs: %s/{manager,gitlab-sim,control-plane}.log
Press Ctrl-C to stop everything.
`, d.shellPath(d.cp.Kubeconfig), kubectl, Namespace, d.rel(filepath.Join(d.o.out, "env")), d.rel(d.logDir()))
}

// shellPath writes a path under the working directory as $PWD/..., which
// stays right when pasted into another terminal in the same directory.
func (d *demo) shellPath(path string) string {
	if r := d.rel(path); r != path {
		return "$PWD" + string(os.PathSeparator) + r
	}
	return path
}
