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

// Package fleet_test is the webhook fleet benchmark (make bench): one
// manager process watching 500 projects, one JobWatch each, with a job
// failing somewhere every 100 ms, run twice in one go: polling only, and
// with GitLab's webhooks plus a 10-minute safety poll. It prints, side by
// side, failure-to-retry latency, GitLab requests per minute, the manager's
// CPU and RSS, and that every failure was retried exactly once.
//
// The manager and the simulator run as processes (bin/manager, bin/gitlab-sim)
// on an envtest control plane, so the manager's CPU and memory are its own.
// Knobs: JOBOPS_FLEET_PROJECTS (500), JOBOPS_FLEET_DURATION (3m),
// JOBOPS_FLEET_EVERY (100ms).
package fleet_test
