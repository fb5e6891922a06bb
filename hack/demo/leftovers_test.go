package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// stopLeftovers must stop a recorded process that still runs, and only if
// it is the same process (pid, name and start time), not another program
// that got its pid.
func TestStopLeftoversStopsOnlyTheRecordedProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = sleep.Wait(); close(exited) }()
	t.Cleanup(func() { _ = sleep.Process.Kill() })
	e, err := readStat(sleep.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if e.ppid != os.Getpid() || e.comm != "sleep" || e.state == "Z" {
		t.Fatalf("readStat = %+v", e)
	}
	d := &demo{o: options{out: t.TempDir()}, out: os.Stderr}
	record := func(name string, start uint64) {
		line := fmt.Sprintf("%d %d %s\n", e.pid, start, name)
		if err := os.WriteFile(filepath.Join(d.o.out, leftoversFile), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	controlPlaneNames = append(controlPlaneNames, "sleep")
	t.Cleanup(func() { controlPlaneNames = controlPlaneNames[:len(controlPlaneNames)-1] })

	for _, other := range []struct {
		name  string
		start uint64
	}{{"kube-apiserver", e.start}, {"sleep", e.start + 1}} {
		record(other.name, other.start)
		if err := d.stopLeftovers(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
			t.Fatalf("stopped pid %d, recorded as %s started at %d: not the same process", e.pid, other.name, other.start)
		case <-time.After(100 * time.Millisecond):
		}
	}

	record("sleep", e.start)
	if err := d.stopLeftovers(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the recorded process still runs")
	}
	if _, err := os.Stat(filepath.Join(d.o.out, leftoversFile)); !os.IsNotExist(err) {
		t.Fatalf("the record is still there: %v", err)
	}
}
