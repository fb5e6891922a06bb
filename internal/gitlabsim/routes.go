package gitlabsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Route templates of the API, as GitLab documents them. They name routes in
// Stats and Faults, so a test can say "the retry route" without a raw path.
const (
	RouteProjectJobs   = "GET /api/v4/projects/:id/jobs"
	RouteJob           = "GET /api/v4/projects/:id/jobs/:job_id"
	RouteTrace         = "GET /api/v4/projects/:id/jobs/:job_id/trace"
	RouteCancel        = "POST /api/v4/projects/:id/jobs/:job_id/cancel"
	RouteRetry         = "POST /api/v4/projects/:id/jobs/:job_id/retry"
	RouteErase         = "POST /api/v4/projects/:id/jobs/:job_id/erase"
	RoutePlay          = "POST /api/v4/projects/:id/jobs/:job_id/play"
	RoutePipelineJobs  = "GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs"
	RouteBridges       = "GET /api/v4/projects/:id/pipelines/:pipeline_id/bridges"
	RouteJobTokenJob   = "GET /api/v4/job"
	RouteAllowedAgents = "GET /api/v4/job/allowed_agents"
	RouteUser          = "GET /api/v4/user"
	RouteVersion       = "GET /api/v4/version"
	RouteProject       = "GET /api/v4/projects/:id"
	RoutePipelines     = "GET /api/v4/projects/:id/pipelines"
	RoutePipeline      = "GET /api/v4/projects/:id/pipelines/:pipeline_id"
	RouteArtifacts     = "GET /api/v4/projects/:id/jobs/:job_id/artifacts"
	RouteUnmatched     = "unmatched"
)

// apiHandler serves an authenticated API request.
type apiHandler func(w http.ResponseWriter, r *http.Request, p principal)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	var paths []string
	methods := map[string][]string{} // path template -> methods served, in order
	jobTokenPath := map[string]bool{}
	api := func(tmpl string, mode authMode, h apiHandler) {
		mux.Handle(muxPattern(tmpl), s.instrument(tmpl, s.authenticated(mode, h)))
		method, path, _ := strings.Cut(tmpl, " ")
		if methods[path] == nil {
			paths = append(paths, path)
		}
		methods[path] = append(methods[path], method)
		jobTokenPath[path] = jobTokenPath[path] || mode.jobTokens()
	}
	// Job tokens are accepted on exactly these routes.
	api(RouteProjectJobs, authTokenOrJob, s.listProjectJobs)
	api(RoutePipelineJobs, authTokenOrJob, s.listPipelineJobs)
	api(RouteJobTokenJob, authTokenOrJob, s.jobTokenJob)
	api(RouteAllowedAgents, authTokenOrJob, s.allowedAgents)
	api(RouteArtifacts, authAnyoneOrJob, s.getArtifacts)

	api(RouteBridges, authToken, s.listBridges)
	api(RouteJob, authToken, s.getJob)
	api(RouteTrace, authToken, s.getTrace)
	api(RouteCancel, authToken, s.cancelJob)
	api(RouteRetry, authToken, s.retryJob)
	api(RouteErase, authToken, s.eraseJob)
	api(RoutePlay, authToken, s.playJob)
	api(RouteUser, authToken, s.currentUser)
	api(RouteVersion, authToken, s.version)

	// Readable without credentials where the project is public; the
	// simulator's projects are private, so anonymous callers get 404.
	api(RouteProject, authAnyone, s.getProject)
	api(RoutePipelines, authAnyone, s.listPipelines)
	api(RoutePipeline, authAnyone, s.getPipeline)

	// Any other method on a path served above is Grape's 405, after the
	// route's own authentication.
	for _, path := range paths {
		h := methodNotAllowed(allowHeader(methods[path]))
		mode := authToken
		if jobTokenPath[path] {
			mode = authTokenOrJob
		}
		mux.Handle(muxPattern(path), s.instrument(RouteUnmatched, s.authenticated(mode, h)))
	}
	mux.Handle("/api/v4/", s.instrument(RouteUnmatched, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		routeNotFound(w)
	})))

	s.adminRoutes(mux)
	return mux
}

// allowHeader is the Allow header Grape computes for a path
// (Grape::API::Instance#add_head_not_allowed_methods_and_options_methods):
// OPTIONS, then the path's methods in the order they were declared, then
// HEAD when GET is among them.
func allowHeader(methods []string) string {
	out := append([]string{http.MethodOptions}, methods...)
	if slices.Contains(methods, http.MethodGet) {
		out = append(out, http.MethodHead)
	}
	return strings.Join(out, ", ")
}

// methodNotAllowed answers a method the path does not serve as GitLab does:
// OPTIONS is 204 with the Allow header; anything else is Grape's
// MethodNotAllowed, which lib/api/api.rb renders as 405
// {"error":"405 Not Allowed"}, with the same Allow header.
func methodNotAllowed(allow string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ principal) {
		w.Header().Set("Allow", allow)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		methodNotAllowedBody(w)
	}
}

// muxPattern turns "GET /api/v4/projects/:id/jobs" into ServeMux's
// "GET /api/v4/projects/{id}/jobs". ServeMux matches on the escaped path and
// unescapes each segment, so a project id "group%2Fapp" arrives as one
// segment and PathValue("id") is "group/app".
func muxPattern(tmpl string) string {
	parts := strings.Split(tmpl, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// authenticated answers 401 before anything else, as GitLab checks
// credentials first.
func (s *Server) authenticated(mode authMode, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r, mode)
		if !ok {
			unauthorized(w)
			return
		}
		h(w, r, p)
	})
}

// statusWriter remembers the status code for Stats.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.code == 0 {
		sw.code = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *statusWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument counts the request under its route template and applies the
// configured faults.
func (s *Server) instrument(tmpl string, next http.Handler) http.Handler {
	method := http.MethodGet
	if i := strings.IndexByte(tmpl, ' '); i > 0 {
		method = tmpl[:i]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		project := r.PathValue("id") // as the client named it: an id or a path
		defer func() {
			if sw.code == 0 {
				sw.code = http.StatusOK
			}
			jobID, _ := strconv.ParseInt(r.PathValue("job_id"), 10, 64)
			s.stats.request(tmpl, sw.code, project, jobID)
		}()
		m := r.Method
		if tmpl != RouteUnmatched {
			m = method // HEAD is served by the GET route and counted with it
		}
		d := s.faults.decide(m, tmpl, project)
		if d.latency > 0 {
			t := time.NewTimer(d.latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		switch {
		case d.errorStatus != 0:
			writeFault(sw, d.errorStatus, time.Now())
		case d.lose:
			next.ServeHTTP(&discardWriter{h: http.Header{}}, r)
			writeFault(sw, http.StatusBadGateway, time.Now())
		default:
			next.ServeHTTP(sw, r)
		}
	})
}
