package gitlabsim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The admin API under /-/sim: the same operations as the Go API, for
// scripts and tests outside the process. Its interface is fixed (other
// projects' tests call it):
//
//	POST   /-/sim/users              UserSpec      -> 201 User
//	POST   /-/sim/projects           ProjectSpec   -> 201 Project
//	POST   /-/sim/pipelines          PipelineSpec  -> 201 Pipeline {id, jobs:[{id,name}], bridges:[...]}
//	POST   /-/sim/jobs/:id/status    StatusSpec    -> 200 the job, as the API shows it
//	GET    /-/sim/jobs/:id                         -> 200 Job (the simulator's view)
//	GET    /-/sim/jobs/:id/token                   -> 200 {"token":"..."}
//	POST   /-/sim/agents             AgentSpec     -> 201 Agent
//	GET    /-/sim/stats                            -> 200 Stats
//	DELETE /-/sim/stats                            -> 204, counters zeroed
//	POST   /-/sim/faults             Faults        -> 200 FaultState
//	GET    /-/sim/faults                           -> 200 FaultState
//	DELETE /-/sim/faults                           -> 204
//	POST   /-/sim/reset                            -> 204, empty world
//	POST   /-/sim/hooks              HookSpec      -> 201 Hook
//	GET    /-/sim/hooks                            -> 200 [Hook]
//	DELETE /-/sim/hooks/:id                        -> 204
//	POST   /-/sim/hook-faults        HookFaults    -> 200 HookFaultState
//	GET    /-/sim/hook-faults                      -> 200 HookFaultState
//	DELETE /-/sim/hook-faults                      -> 204
//	POST   /-/sim/hooks/wait                       -> 204 once every queued delivery is done
//	                                                  (504 after ?timeout=, default 10s)
//
// When Options.AdminToken is set every call needs it in X-Sim-Admin-Token
// (401 otherwise). Errors are {"message":"..."} with 400 (invalid spec), 404
// (unknown id) or 409 (duplicate).

// creating answers a POST whose body is a spec with 201 and what create made
// of it.
func creating[S, T any](create func(S) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var spec S
		if decodeAdmin(w, r, &spec) {
			out, err := create(spec)
			adminReply(w, http.StatusCreated, out, err)
		}
	}
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, s.adminGuard(f)) }
	h("POST /-/sim/users", creating(s.CreateUser))
	h("POST /-/sim/projects", creating(s.CreateProject))
	h("POST /-/sim/pipelines", creating(s.CreatePipeline))
	h("POST /-/sim/agents", creating(s.CreateAgent))
	h("POST /-/sim/jobs/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		id, ok := adminID(w, r)
		var spec StatusSpec
		if ok && decodeAdmin(w, r, &spec) {
			rd := s.renderer(r)
			var out any
			err := s.transition(id, spec, func(j *job) { out = rd.job(j) })
			adminReply(w, http.StatusOK, out, err)
		}
	})
	h("GET /-/sim/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := adminID(w, r); ok {
			j, found := s.Job(id)
			if !found {
				adminReply(w, 0, nil, ErrNotFound)
				return
			}
			writeJSON(w, http.StatusOK, j)
		}
	})
	h("GET /-/sim/jobs/{id}/token", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := adminID(w, r); ok {
			tok, err := s.JobToken(id)
			adminReply(w, http.StatusOK, map[string]string{"token": tok}, err)
		}
	})
	h("GET /-/sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	h("DELETE /-/sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	h("POST /-/sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if decodeAdmin(w, r, &f) {
			err := s.SetFaults(f)
			adminReply(w, http.StatusOK, s.FaultState(), err)
		}
	})
	h("GET /-/sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.FaultState())
	})
	h("DELETE /-/sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	h("POST /-/sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	h("POST /-/sim/hooks", creating(s.CreateHook))
	h("GET /-/sim/hooks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Hooks())
	})
	h("DELETE /-/sim/hooks/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := adminID(w, r); ok {
			if err := s.DeleteHook(id); err != nil {
				adminReply(w, 0, nil, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	h("POST /-/sim/hooks/wait", func(w http.ResponseWriter, r *http.Request) {
		timeout := 10 * time.Second
		if v := r.URL.Query().Get("timeout"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				writeMessage(w, http.StatusBadRequest, "timeout: want a duration like 5s")
				return
			}
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := s.WaitForHookDeliveries(ctx); err != nil {
			writeMessage(w, http.StatusGatewayTimeout, "deliveries still queued after "+timeout.String())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h("POST /-/sim/hook-faults", func(w http.ResponseWriter, r *http.Request) {
		var f HookFaults
		if decodeAdmin(w, r, &f) {
			err := s.SetHookFaults(f)
			adminReply(w, http.StatusOK, s.HookFaultState(), err)
		}
	})
	h("GET /-/sim/hook-faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.HookFaultState())
	})
	h("DELETE /-/sim/hook-faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearHookFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	h("/-/sim/", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, http.StatusNotFound, "no such admin route")
	})
}

func (s *Server) adminGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if want := s.opts.AdminToken; want != "" {
			got := r.Header.Get("X-Sim-Admin-Token")
			if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				unauthorized(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// decodeAdmin reads a JSON body strictly: an unknown field is a 400, so a
// typo in a test's spec fails loudly instead of being ignored.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "could not read the body")
		return false
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeMessage(w, http.StatusBadRequest, "invalid body: "+err.Error())
		return false
	}
	return true
}

func adminID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "id: want a number")
		return 0, false
	}
	return id, true
}

func adminReply(w http.ResponseWriter, code int, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, code, v)
	case errors.Is(err, ErrNotFound):
		writeMessage(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrConflict):
		writeMessage(w, http.StatusConflict, err.Error())
	default:
		writeMessage(w, http.StatusBadRequest, err.Error())
	}
}
