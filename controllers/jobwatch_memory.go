/*
Copyright 2026 The gitlab-job-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controllers

import (
	"sync/atomic"
	"time"

	"k8s.io/utils/lru"

	"github.com/jobops-dev/gitlab-job-operator/internal/policy"
)

// memorySize bounds each of a watch's memories: enough for the jobs a scan
// window holds open in practice, a few hundred KiB per watch at most.
const memorySize = 1024

// watchMemory is what one generation of a JobWatch remembers between syncs,
// in this process only. Nothing in it is needed for correctness; it keeps a
// steady state at one request a sync when an open job holds the scan window
// open and the same finished jobs are read again at every sync.
//
// Both memories are about finished job attempts only: a finished attempt's
// status, failure reason and log no longer change (a retry makes a new
// attempt), so what the rules said about it once holds for the generation.
// A restart forgets them, and each job's log is then read once more.
type watchMemory struct {
	// settled holds finished attempts the rules have nothing more to say
	// about: no rule matches them now or will when they are older, their
	// retry budget is spent, or a newer attempt supersedes them.
	settled *lru.Cache // job id -> struct{}
	// logs holds the verdicts of finished attempts' logs on the rules'
	// patterns, so each log is read at most once.
	logs *lru.Cache // job id -> policy.LogVerdicts
	// sweepDue is when the sweep of jobs in transient statuses is next due
	// (zero: at the next sync). A restart sweeps at its first sync.
	sweepDue time.Time
	// nextSync is when the next sync is due (zero: not scheduled by this
	// process yet). Status has it too, but only as of the last sync that
	// wrote status; a restart picks it up from there.
	nextSync time.Time
	// lastSync is when this process last finished a sync of the watch, in
	// Unix nanoseconds: fresher than status.lastSyncTime, which a quiet sync
	// does not write. Atomic: metrics scrapes read it.
	lastSync atomic.Int64
}

func newWatchMemory() *watchMemory {
	return &watchMemory{settled: lru.New(memorySize), logs: lru.New(memorySize)}
}

func (m *watchMemory) isSettled(jobID int64) bool {
	_, ok := m.settled.Get(jobID)
	return ok
}

func (m *watchMemory) settle(jobID int64) { m.settled.Add(jobID, struct{}{}) }

func (m *watchMemory) logVerdicts(jobID int64) (policy.LogVerdicts, bool) {
	v, ok := m.logs.Get(jobID)
	if !ok {
		return 0, false
	}
	return v.(policy.LogVerdicts), true
}

func (m *watchMemory) rememberLog(jobID int64, v policy.LogVerdicts) { m.logs.Add(jobID, v) }
