package devenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ProcessSpec says how to start a program.
type ProcessSpec struct {
	// Name is used in errors and in the log file's header.
	Name string
	// Path is the program; Args its arguments (without the program).
	Path string
	Args []string
	// Env is added to this process's environment.
	Env []string
	// Dir is the working directory; empty: this process's.
	Dir string
	// LogPath receives the program's stdout and stderr. It is appended to, so
	// a restarted program keeps one log with each run under its own header.
	LogPath string
}

// Process is a running program started by StartProcess.
type Process struct {
	spec ProcessSpec
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it exited; read after done is closed

	// logStart is where this run's output starts in the log file, which
	// may hold earlier runs.
	logStart int64

	mu     sync.Mutex
	killed bool // we sent SIGKILL: the exit is ours, not a failure
}

// StartProcess starts the program with its output going to spec.LogPath.
// The child is in its own process group (a Ctrl-C on the terminal reaches the
// program that owns it, which stops it in order) and, on Linux, gets SIGTERM
// if the thread that started it dies, so it does not outlive its owner.
func StartProcess(spec ProcessSpec) (*Process, error) {
	if spec.Name == "" {
		spec.Name = filepath.Base(spec.Path)
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "==== %s: %s %q\n", time.Now().Format(time.RFC3339Nano), spec.Path, spec.Args)
	start, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		log.Close()
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = log, log // an *os.File is handed over as is: no copying goroutine
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	p := &Process{spec: spec, cmd: cmd, done: make(chan struct{}), logStart: start}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// Name is the spec's name.
func (p *Process) Name() string { return p.spec.Name }

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath is where its output goes.
func (p *Process) LogPath() string { return p.spec.LogPath }

// Output returns what this run of the program has written so far.
func (p *Process) Output() (string, error) {
	f, err := os.Open(p.spec.LogPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(p.logStart, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited says whether the process has exited, and how: nil for a clean exit.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.exitErr()
	default:
		return false, nil
	}
}

// Wait waits until the process exits and says how.
func (p *Process) Wait() error {
	<-p.done
	return p.exitErr()
}

// Stop asks the process to end with SIGTERM and waits up to grace, then
// kills it. It returns how the process exited (nil for exit code 0), or nil
// if it was already gone. Safe to call more than once.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitErr()
	case <-t.C:
	}
	p.Kill()
	return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.spec.Name, grace)
}

// Kill sends SIGKILL, as a crash would, and waits until the process is gone.
func (p *Process) Kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	killed := p.killed
	p.mu.Unlock()
	if p.err == nil || killed {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return fmt.Errorf("%s exited (%s); see %s", p.spec.Name, ee.ProcessState, p.spec.LogPath)
	}
	return fmt.Errorf("%s: %w", p.spec.Name, p.err)
}
