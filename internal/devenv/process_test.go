package devenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a parent process for TestChildDiesWithItsParent.
func TestMain(m *testing.M) {
	if os.Getenv("DEVENV_TEST_PARENT") != "" {
		p, err := StartProcess(ProcessSpec{Path: "sleep", Args: []string{"60"}, LogPath: os.Getenv("DEVENV_TEST_PARENT")})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		select {} // until killed
	}
	os.Exit(m.Run())
}

func sh(t *testing.T, script string) *Process {
	t.Helper()
	p, err := StartProcess(ProcessSpec{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script}, LogPath: filepath.Join(t.TempDir(), "sh.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

func TestStopEndsAProcessThatHonoursSIGTERM(t *testing.T) {
	p := sh(t, `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done`)
	waitOutput(t, p, "up")
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if out, _ := p.Output(); !strings.Contains(out, "bye") {
		t.Fatalf("the process did not get SIGTERM; output %q", out)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	p := sh(t, `trap '' TERM; echo up; while :; do sleep 0.05; done`)
	waitOutput(t, p, "up")
	start := time.Now()
	err := p.Stop(300 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "was killed") {
		t.Fatalf("Stop = %v, want an error saying it was killed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Stop took %s", d)
	}
	if done, _ := p.Exited(); !done {
		t.Fatal("still running after Stop")
	}
}

func TestKillIsNotAFailureButAnExitCodeIs(t *testing.T) {
	p := sh(t, `sleep 60`)
	p.Kill()
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait after Kill = %v, want nil: the crash was ours", err)
	}
	q := sh(t, `exit 3`)
	if err := q.Wait(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
}

func TestOutputIsThisRunsOnly(t *testing.T) {
	log := filepath.Join(t.TempDir(), "twice.log")
	for i, word := range []string{"first", "second"} {
		p, err := StartProcess(ProcessSpec{Path: "/bin/echo", Args: []string{word}, LogPath: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
		out, err := p.Output()
		if err != nil {
			t.Fatal(err)
		}
		if out != word+"\n" {
			t.Fatalf("run %d: Output = %q, want %q", i, out, word+"\n")
		}
	}
	raw, _ := os.ReadFile(log)
	if !strings.Contains(string(raw), "first") || !strings.Contains(string(raw), "second") {
		t.Fatalf("the log lost a run: %q", raw)
	}
}

// A demo or test binary that is SIGKILLed cannot stop its children; the
// kernel must (Pdeathsig), or they would run on.
func TestChildDiesWithItsParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux ties a child's life to its parent's")
	}
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), "DEVENV_TEST_PARENT="+filepath.Join(t.TempDir(), "child.log"))
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := stdout.Read(buf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		_ = parent.Process.Kill()
		t.Fatalf("the parent said %q", buf[:n])
	}
	_ = parent.Process.Kill()
	_ = parent.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		// Reaped by init once it exits; until then it may be a zombie.
		if state, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(state), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d outlived its killed parent", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitOutput(t *testing.T, p *Process, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := p.Output()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", s, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
