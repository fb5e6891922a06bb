// Package gitlabsim is an in-memory simulator of GitLab's Jobs API (/api/v4),
// faithful to the status codes, error bodies, pagination headers, job state
// rules and token rules described in docs/gitlab-api.md, so that the
// operator, its demo and its tests can talk to something that behaves like
// GitLab without a GitLab.
//
// A Server holds users, projects, pipelines, jobs (builds and bridges) and
// cluster agents. It is driven three ways:
//
//   - the GitLab REST API under /api/v4, as the operator sees it: the jobs
//     endpoints, GET /projects/:id, the pipelines list and a pipeline, and a
//     job's artifacts archive;
//   - the admin API under /-/sim (see admin.go), guarded by the
//     X-Sim-Admin-Token header when Options.AdminToken is set;
//   - the same admin operations as Go methods (CreateUser, CreateProject,
//     CreatePipeline, SetJobStatus, JobToken, CreateAgent, CreateHook,
//     Stats, SetFaults, SetHookFaults, ClearFaults, Reset, Job, Pipeline),
//     for tests in other packages.
//
// It also sends webhooks as GitLab does (hooks.go, hookpayload.go,
// hookdelivery.go): a project hook registered with CreateHook (or POST
// /-/sim/hooks, or a fixture's hooks:) receives a Job Hook on every status
// change of the project's builds, whatever caused it (the lifecycle engine,
// the admin API, or an action through the API), and a Pipeline Hook when a
// pipeline's status changes, asynchronously and in order, with GitLab's
// payloads and headers. HookFaults drop, delay, duplicate or reorder
// deliveries; Stats counts them by hook.
//
// The spec types (UserSpec, ProjectSpec, PipelineSpec, JobSpec, BridgeSpec,
// StatusSpec, AgentSpec, Faults) are the structs the admin API decodes its
// JSON into and the YAML fixtures of cmd/gitlab-sim are read into, so the
// three ways cannot drift apart. The demo world is such a fixture,
// demo.yaml, embedded as DemoFixture and loaded by LoadDemoWorld: read it to
// see what a fixture can say, copy it to make a world of your own.
//
// Optional behaviour: a lifecycle engine (Options.Lifecycle) that plays the
// runner and GitLab's pipeline processing: it moves jobs pending -> running
// -> success|failed on their own, following per-job scripted outcomes and a
// seeded flakiness, and starts each stage's created jobs when the stages
// before it (or the jobs they need) are done, skipping them after a failure
// (processing.go); a per-user rate limit on the project jobs list
// (Options.JobsRateLimitPerMinute); injected faults (latency, errors, lost
// responses) for resilience tests; request, action and webhook delivery
// counters (Stats) to measure what a client costs.
package gitlabsim
