package gitlabsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// LifecycleOptions turn on the engine that plays the runner: it moves jobs
// pending -> running -> success|failed on its own. Durations are used as
// given (zero means "at the next tick"), so tests can use milliseconds.
type LifecycleOptions struct {
	// PendingDuration is how long a job waits in pending before it starts.
	PendingDuration time.Duration
	// RunningDuration is how long a run lasts.
	RunningDuration time.Duration
	// LogInterval is how often a running job writes a log line; zero: only
	// the first and last lines.
	LogInterval time.Duration
	// Tick is how often the engine looks at the jobs; default 10ms.
	Tick time.Duration
}

// engine advances the active (pending and running) jobs at every tick.
// Stuck jobs are left alone. Each run's outcome is decided when it ends: the
// pipeline's script for the job name if there is one (each run consumes the
// next outcome), else the job's flakiness, drawn from a generator seeded by
// Options.Seed and the job id so a run does not depend on timing.
type engine struct {
	s    *Server
	o    LifecycleOptions
	stop func()
	done chan struct{}
}

func newEngine(s *Server, o LifecycleOptions) *engine {
	if o.Tick <= 0 {
		o.Tick = 10 * time.Millisecond
	}
	return &engine{s: s, o: o, done: make(chan struct{})}
}

func (e *engine) start() {
	quit := make(chan struct{})
	var once sync.Once
	e.stop = func() {
		once.Do(func() { close(quit) })
		<-e.done
	}
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.o.Tick)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				e.step(now.UTC())
			}
		}
	}()
}

// step advances every active job whose time has come, in id order so runs
// are reproducible.
func (e *engine) step(now time.Time) {
	st := e.s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := make([]int64, 0, len(st.active))
	for id, j := range st.active {
		if !j.stuck {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		j := st.active[id]
		switch j.status {
		case StatusPending:
			if now.Sub(j.queuedAt) >= e.o.PendingDuration {
				st.setStatus(j, StatusRunning, "", now)
				e.log(j, "Running with gitlab-runner 17.11.0 (gitlabsim)")
				e.log(j, fmt.Sprintf("  on gitlab-sim runner, job %d", j.id))
				e.log(j, "Preparing the \"docker\" executor")
			}
		case StatusRunning:
			if e.o.LogInterval > 0 {
				for now.Sub(j.lastLogAt) >= e.o.LogInterval && j.logLines < 10_000 {
					j.lastLogAt = j.lastLogAt.Add(e.o.LogInterval)
					e.log(j, fmt.Sprintf("$ ./ci/%s.sh   # output line %d", j.name, j.logLines+1))
				}
			}
			if now.Sub(j.startedAt) >= e.o.RunningDuration {
				e.finish(j, now)
			}
		}
	}
	st.processDirty(now)
}

func (e *engine) log(j *job, line string) {
	if j.isBuild() {
		j.trace = append(j.trace, line...)
		j.trace = append(j.trace, '\n')
	}
	j.logLines++
}

func (e *engine) finish(j *job, now time.Time) {
	st := e.s.st
	if !j.isBuild() {
		// A bridge "succeeds" by creating its downstream pipeline.
		if j.downstream == nil {
			st.createDownstream(j, StatusSuccess, now, e.s.opts.Seed)
		}
		st.setStatus(j, StatusSuccess, "", now)
		return
	}
	o, scripted := j.pipeline.outcomes[j.name].take()
	if !scripted {
		o = Outcome{Status: StatusSuccess}
		if j.flakiness > 0 {
			rng := rand.New(rand.NewPCG(uint64(e.s.opts.Seed), uint64(j.id)))
			if rng.Float64() < j.flakiness {
				o = j.flakyOutcome
			}
		}
	}
	if o.Log != "" {
		e.log(j, o.Log)
	}
	switch o.Status {
	case StatusSuccess:
		e.log(j, "Job succeeded")
	case StatusFailed:
		if o.FailureReason == ReasonRunnerSystemFailure {
			e.log(j, "ERROR: Job failed (system failure): simulated runner failure")
		} else {
			e.log(j, "ERROR: Job failed: exit code 1")
		}
	}
	st.setStatus(j, o.Status, o.FailureReason, now)
}

// scheduleCanceled ends a canceling job after Options.CancelingDuration,
// unless something else changed its status meanwhile. The caller holds the
// write lock.
func (s *Server) scheduleCanceled(j *job) {
	d := s.opts.CancelingDuration
	if d < 0 {
		return
	}
	gen := j.cancelGen
	st := s.st
	time.AfterFunc(d, func() {
		if s.isClosed() {
			return
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		// After a Reset the job is gone from the world; leave it.
		if st.jobs[j.id] == j && j.cancelGen == gen && j.status == StatusCanceling {
			st.setStatus(j, StatusCanceled, "", time.Now().UTC())
		}
	})
}
