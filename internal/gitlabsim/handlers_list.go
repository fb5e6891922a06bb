package gitlabsim

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// The list endpoints: project jobs, pipeline jobs, pipeline bridges.

// reply is an error response decided under the store lock and written after
// releasing it.
type reply func(http.ResponseWriter)

// projectFor resolves :id and checks the caller may act with role need;
// the caller holds s.st.mu. A project the caller cannot see is 404, one it
// sees without enough rights 403, as GitLab answers.
func (s *Server) projectFor(r *http.Request, p principal, need int) (*project, reply) {
	pr := s.st.findProject(r.PathValue("id"))
	if pr == nil {
		return nil, projectNotFound
	}
	role := p.access(pr)
	if role == roleNone {
		return nil, projectNotFound
	}
	if role < need {
		return nil, func(w http.ResponseWriter) { forbidden(w, "") }
	}
	return pr, nil
}

func intParam(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		return 0, &paramErr{name + " is invalid"}
	}
	return n, nil
}

func writeQueryErr(w http.ResponseWriter, err error) {
	var pe *paramErr
	var be *badRequestErr
	switch {
	case errors.As(err, &pe):
		paramError(w, pe.msg)
	case errors.As(err, &be):
		badRequest(w, be.reason)
	default:
		badRequest(w, err.Error())
	}
}

// GET /projects/:id/jobs: builds only, newest first, retried included;
// offset pagination without totals, or keyset pagination by id desc.
func (s *Server) listProjectJobs(w http.ResponseWriter, r *http.Request, p principal) {
	lq, err := parseListQuery(r.URL.RawQuery, listProjectJobs)
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	now := time.Now()
	if ok, reset := s.limiter.allow(p.rateKey(), now); !ok {
		rateLimited(w, s.limiter.getLimit(), reset, now)
		return
	}
	rd := s.renderer(r)
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleReporter)
	if fail != nil {
		s.st.mu.RUnlock()
		fail(w)
		return
	}
	if lq.keyset && ((lq.orderBy != "" && lq.orderBy != "id") || (lq.sort != "" && lq.sort != "desc")) {
		s.st.mu.RUnlock()
		keysetNotAvailable(w)
		return
	}
	var ids []int64
	var more bool
	if lq.keyset {
		ids, more = pr.idx.page(lq.scope, lq.cursor, 0, lq.perPage)
	} else if skip, ok := offsetWindow(lq.page, lq.perPage); ok {
		ids, more = pr.idx.page(lq.scope, 0, skip, lq.perPage)
	}
	page := make([]*job, 0, len(ids))
	for _, id := range ids {
		page = append(page, s.st.jobs[id])
	}
	buf := getPageBuf()
	defer putPageBuf(buf)
	*buf = rd.appendJobs(*buf, page)
	s.st.mu.RUnlock()

	if lq.keyset {
		var last int64
		if len(ids) > 0 {
			last = ids[len(ids)-1]
		}
		setKeysetHeaders(w, rd.base, r, lq.perPage, last, more)
	} else {
		setOffsetHeaders(w, rd.base, r, lq.page, lq.perPage, more, -1)
	}
	writeRawJSON(w, http.StatusOK, *buf)
}

// pipelineFor resolves :pipeline_id within the project; the caller holds the
// lock.
func (s *Server) pipelineFor(pr *project, id int64) (*pipeline, reply) {
	pl := s.st.pipelines[id]
	if pl == nil || pl.project != pr {
		return nil, notFound
	}
	return pl, nil
}

// GET /projects/:id/pipelines/:pipeline_id/jobs: the pipeline's builds, id
// descending, latest attempts only unless include_retried; full offset
// headers.
func (s *Server) listPipelineJobs(w http.ResponseWriter, r *http.Request, p principal) {
	s.listPipelineMembers(w, r, p, listPipelineJobs)
}

// GET /projects/:id/pipelines/:pipeline_id/bridges: the pipeline's trigger
// jobs with their downstream pipelines.
func (s *Server) listBridges(w http.ResponseWriter, r *http.Request, p principal) {
	s.listPipelineMembers(w, r, p, listBridges)
}

func (s *Server) listPipelineMembers(w http.ResponseWriter, r *http.Request, p principal, kind listKind) {
	plID, err := intParam(r, "pipeline_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	lq, err := parseListQuery(r.URL.RawQuery, kind)
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	rd := s.renderer(r)
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleReporter)
	if fail == nil && lq.keyset {
		fail = keysetNotAvailable
	}
	var pl *pipeline
	if fail == nil {
		pl, fail = s.pipelineFor(pr, plID)
	}
	if fail != nil {
		s.st.mu.RUnlock()
		fail(w)
		return
	}
	src := pl.builds
	if kind == listBridges {
		src = pl.bridges
	}
	want := map[string]bool{}
	for _, sc := range lq.scope {
		want[sc] = true
	}
	var matched []*job
	for i := len(src) - 1; i >= 0; i-- {
		j := src[i]
		if kind == listPipelineJobs && j.retried && !lq.includeRetried {
			continue
		}
		if len(want) > 0 && !want[j.status] {
			continue
		}
		matched = append(matched, j)
	}
	page, more := paginateSlice(matched, lq.page, lq.perPage)
	buf := getPageBuf()
	defer putPageBuf(buf)
	*buf = rd.appendJobs(*buf, page)
	s.st.mu.RUnlock()

	setOffsetHeaders(w, rd.base, r, lq.page, lq.perPage, more, len(matched))
	writeRawJSON(w, http.StatusOK, *buf)
}
