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

// Package webhook is the operator's receiver of GitLab webhooks: a small
// HTTP server, separate from the metrics and probe endpoints, that takes Job
// Hook and Pipeline Hook deliveries, checks each against the connection its
// path names, and hands the event to the controllers. It never calls GitLab:
// GitLab gives a receiver 10 seconds, and disables hooks whose deliveries
// keep failing, so the handler only verifies and enqueues.
//
// What it answers, cheaply and without detail: 404 for a path no connection
// publishes, 405 for a method other than POST, 401 without the connection's
// token (compared in constant time), 413 for a body over 1 MiB, 400 for a
// body that is not the payload its X-Gitlab-Event header names, and 200 for
// everything else, including events it does not use and projects nobody
// watches. Tokens and payloads never reach logs or metric labels.
package webhook
