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
	"context"
	"time"

	"github.com/jobops-dev/gitlab-job-operator/internal/gitlab"
)

// The sweep: how age rules on transient statuses (a Cancel of jobs stuck
// pending or running) reach every such job of a project, however deep in its
// history. GitLab does not let a job stay pending or running for long (its
// stuck-job and timeout workers fail it), so few jobs are in those statuses
// at any time, and the project's jobs list filtered by them is a page or two
// where the whole list is thousands. The scan of new jobs already keeps the
// unfinished jobs it has read open; the sweep catches the ones it never read
// (older than the watch) or let go (deeper than maxScanJobs).

const (
	// minSweepEvery is the least time between two sweeps: the scan of new
	// jobs covers the recent ones, so the sweep is a safety net, not a
	// second request at every sync.
	minSweepEvery = 15 * time.Minute
	// maxSweepJobs bounds the jobs one sweep reads.
	maxSweepJobs = 500
)

// sweepOpen lists the project's jobs in the transient statuses the age rules
// match, when the sweep is due, and decides about each.
func (s *syncer) sweepOpen(ctx context.Context) error {
	statuses, every := s.pol.OpenSweep()
	if len(statuses) == 0 || s.jw.Spec.PipelineID != 0 || s.memory.sweepDue.After(s.now) {
		return nil
	}
	var jobs []gitlab.Job
	err := s.gl.ListProjectJobs(ctx, s.project, statuses, func(j gitlab.Job) bool {
		jobs = append(jobs, j)
		return len(jobs) < maxSweepJobs
	})
	if err != nil {
		return gitlabFailure(err, "the open jobs of project "+s.project)
	}
	s.scanned += len(jobs)
	track := &sweepTracker{s: s}
	if err := s.evaluate(ctx, jobs, track); err != nil {
		return err
	}
	s.sweepDue = s.now.Add(max(every, minSweepEvery))
	if !track.at.IsZero() && track.at.Before(s.sweepDue) {
		s.sweepDue = track.at
	}
	return nil
}
