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

package policy

import (
	"slices"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// Age rules (minAgeSeconds > 0) act on jobs once they are old enough, which
// may be long after a watch's scan of new jobs has passed them, and on jobs
// older than the watch itself. The controller reaches them in two ways,
// chosen by the statuses a rule matches:
//
//   - Transient statuses, which GitLab does not let a job keep for long (it
//     fails jobs stuck pending or running past their timeouts): few jobs are
//     in them at any time, so the project's jobs list filtered by them is a
//     page or two even on a project with years of history. The controller
//     sweeps that list (OpenSweep).
//   - Every other status (finished, manual, scheduled, created) can be held
//     by any number of jobs for ever: the controller walks the project's
//     history once, forward in time, one walk per age (HistoryAges).

// transientStatuses are the statuses GitLab bounds the time of.
var transientStatuses = []string{"waiting_for_resource", "preparing", "waiting_for_callback", "pending", "running", "canceling"}

// IsTransient says whether GitLab bounds how long a job stays in status.
func IsTransient(status string) bool { return slices.Contains(transientStatuses, status) }

// MinAge is the rule's minAgeSeconds; 0 for a rule without one.
func (r *Rule) MinAge() time.Duration { return r.minAge }

// HistoryAges are the distinct minimum ages, shortest first, of the rules
// that need the history walk: age rules with a status that is not
// transient. Each age is walked on its own: a pipeline is visited once it
// has been quiet for that long, when its jobs are old enough for the rules of
// that age (see RevisitAtForAge) but perhaps not for longer ones.
func (p *Policy) HistoryAges() []time.Duration {
	var ages []time.Duration
	for _, r := range p.rules {
		if r.minAge > 0 && slices.ContainsFunc(r.statuses, func(s string) bool { return !IsTransient(s) }) &&
			!slices.Contains(ages, r.minAge) {
			ages = append(ages, r.minAge)
		}
	}
	slices.Sort(ages)
	return ages
}

// OpenSweep says which transient statuses the age rules match (none: no
// sweep) and how often to sweep for them: their shortest minimum age, so a
// job is found at most that long after it became old enough.
func (p *Policy) OpenSweep() (statuses []string, every time.Duration) {
	for _, r := range p.rules {
		if r.minAge == 0 {
			continue
		}
		for _, s := range r.statuses {
			if IsTransient(s) && !slices.Contains(statuses, s) {
				statuses = append(statuses, s)
				if every == 0 || r.minAge < every {
					every = r.minAge
				}
			}
		}
	}
	slices.Sort(statuses)
	return statuses, every
}

// RevisitAtForAge is RevisitAt among the rules of minimum age age, for a job
// whose status is not transient: what the history walk of that age must wait
// for before it may pass the job's pipeline. A job in a transient status is
// the sweep's, and a rule of another age has its own walk.
func (p *Policy) RevisitAtForAge(job gitlab.Job, now time.Time, age time.Duration) (time.Time, bool) {
	if IsTransient(job.Status) {
		return time.Time{}, false
	}
	return p.revisitAmong(job, now, func(r *Rule) bool { return r.minAge == age })
}
