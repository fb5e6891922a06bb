package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// watch shows the objects of the namespace every refresh interval until
// every expectation is decided or the timeout passes, and returns the last
// results. The table is kubectl's own (`kubectl get gitlab`), so the user
// sees the printer columns they will use.
func (d *demo) watch(ctx context.Context) ([]result, error) {
	deadline := time.Now().Add(d.o.timeout)
	scr := newScreen(d.out)
	tick := time.NewTicker(d.o.refresh)
	defer tick.Stop()
	var results []result
	for {
		raw, err := d.cp.Kubectl.Run(ctx, "get", "gitlab", "-n", Namespace, "-o", "json")
		if err != nil {
			return nil, err
		}
		objs, err := decodeList(raw)
		if err != nil {
			return nil, err
		}
		results = evaluate(objs)
		table, err := d.cp.Kubectl.Run(ctx, "get", "gitlab", "-n", Namespace)
		if err != nil {
			return nil, err
		}
		done := settled(results) && len(results) > 0
		scr.show(d.header(results, deadline), table, fingerprint(objs), done)
		switch {
		case done:
			return results, nil
		case time.Now().After(deadline):
			d.logf("gave up waiting after %s", d.o.timeout)
			return results, nil
		}
		select {
		case <-ctx.Done():
			return results, ctx.Err()
		case <-d.manager.Process().Done():
			return results, fmt.Errorf("the manager exited: %w", d.manager.Process().Wait())
		case <-d.sim.Done():
			return results, fmt.Errorf("gitlab-sim exited: %w", d.sim.Wait())
		case <-tick.C:
		}
	}
}

func (d *demo) header(rs []result, deadline time.Time) string {
	n := 0
	for _, r := range rs {
		if r.Verdict != pending {
			n++
		}
	}
	return fmt.Sprintf("kubectl get gitlab -n %s   %s   %d of %d settled (giving up in %s)",
		Namespace, time.Now().Format("15:04:05"), n, len(rs), time.Until(deadline).Round(time.Second))
}

// screen redraws the table in place on a terminal; elsewhere (CI, a pipe)
// it prints it only when something changed, so a log stays readable.
type screen struct {
	out  io.Writer
	tty  bool
	last string
}

func newScreen(out io.Writer) *screen {
	s := &screen{out: out}
	if f, ok := out.(*os.File); ok && os.Getenv("TERM") != "dumb" {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			s.tty = true
		}
	}
	return s
}

func (s *screen) show(header, table, key string, final bool) {
	if s.tty {
		// Home the cursor and clear the screen, then draw.
		fmt.Fprintf(s.out, "\033[H\033[2J%s\n\n%s", header, table)
		return
	}
	if key == s.last && !final {
		return
	}
	s.last = key
	fmt.Fprintf(s.out, "\n%s\n%s", header, indent(table))
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "")
}
