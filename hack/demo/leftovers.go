package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A demo killed with SIGKILL cannot stop kube-apiserver and etcd: envtest
// starts them, and unlike the processes devenv starts they are not tied to
// their parent's life. So the demo records them (pid and start time, which
// a reused pid will not share) in bin/demo/control-plane.pids, and the next
// demo in that directory stops any that still run.

const leftoversFile = "control-plane.pids"

// controlPlaneNames are the process names (comm) envtest starts.
var controlPlaneNames = []string{"kube-apiserver", "etcd"} // stopped in this order

// procEntry is one process as /proc/<pid>/stat shows it.
type procEntry struct {
	pid, ppid int
	comm      string
	state     string // "Z" once it has exited (a zombie nobody reaped yet)
	start     uint64 // clock ticks after boot: with pid, a unique identity
}

// readStat parses /proc/<pid>/stat; comm is in parentheses and may hold spaces.
func readStat(pid int) (procEntry, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procEntry{}, err
	}
	s := string(raw)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procEntry{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	rest := strings.Fields(s[closing+1:]) // state ppid ... starttime is the 20th
	if len(rest) < 20 {
		return procEntry{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	e := procEntry{pid: pid, comm: s[open+1 : closing], state: rest[0]}
	e.ppid, _ = strconv.Atoi(rest[1])
	e.start, _ = strconv.ParseUint(rest[19], 10, 64)
	return e, nil
}

// recordControlPlane writes the pids of this process's kube-apiserver and
// etcd children. Where there is no /proc, it records nothing.
func (d *demo) recordControlPlane() error {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var lines []string
	for _, de := range dirs {
		pid, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		e, err := readStat(pid)
		if err != nil || e.ppid != os.Getpid() || !isControlPlane(e.comm) {
			continue
		}
		lines = append(lines, fmt.Sprintf("%d %d %s", e.pid, e.start, e.comm))
	}
	path := filepath.Join(d.o.out, leftoversFile)
	d.files = append(d.files, path)
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// stopLeftovers stops the control plane of an earlier demo in this directory
// that was killed before it could: kube-apiserver first, as a clean shutdown
// does, then etcd; SIGKILL after a grace period.
func (d *demo) stopLeftovers() error {
	path := filepath.Join(d.o.out, leftoversFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, name := range controlPlaneNames {
		for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var pid int
			var start uint64
			var comm string
			if _, err := fmt.Sscanf(l, "%d %d %s", &pid, &start, &comm); err != nil || comm != name {
				continue
			}
			if e, err := readStat(pid); err == nil && e.start == start && e.comm == comm {
				d.logf("stopping %s (pid %d), left running by a demo that was killed", comm, pid)
				terminate(pid, start, 15*time.Second)
			}
		}
	}
	return os.Remove(path)
}

// terminate sends SIGTERM and, if the same process still runs after grace,
// SIGKILL.
func terminate(pid int, start uint64, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if e, err := readStat(pid); err != nil || e.start != start || e.state == "Z" {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func isControlPlane(comm string) bool {
	for _, n := range controlPlaneNames {
		if comm == n {
			return true
		}
	}
	return false
}
