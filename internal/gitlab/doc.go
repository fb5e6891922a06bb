// Package gitlab is the operator's only door to GitLab: the one package that
// imports gitlab.com/gitlab-org/api/client-go/v2.
//
// It gives the controllers a narrow interface (Client, JobTokenClient) in
// the operator's own types, so they never see library types and tests can
// swap in a simulator. Around the library it adds what the operator's
// principles require and the library does not do by itself:
//
//   - a mutating request (POST) is never resent by the client: a retried
//     retry is a second job, so only the controller, after asking GitLab
//     what happened, may decide to call again;
//   - GET requests are retried on 5xx and 429 with bounded exponential
//     backoff that honours Retry-After and RateLimit-Reset; a wait longer
//     than a cap is handed back to the caller as a RateLimited error;
//   - one rate limiter, one TLS configuration and one connection pool per
//     GitLabConnection (see Clients);
//   - errors classified once (Class), with GitLab's message and never a
//     token;
//   - Prometheus metrics labelled by connection and endpoint template;
//   - job logs read as a stream, keeping only their tail;
//   - webhook deliveries (Job Hook, Pipeline Hook) parsed by the library's
//     own parser into a HookEvent, bounded in size, with errors classified
//     by how a receiver answers them (HookFault).
package gitlab
