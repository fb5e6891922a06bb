package gitlabsim

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// GET /projects/:id/pipelines and GET /projects/:id/pipelines/:pipeline_id,
// as lib/api/ci/pipelines.rb and Ci::PipelinesFinder serve them.

// sourceParentPipeline is the source of a child pipeline.
const sourceParentPipeline = "parent_pipeline"

// pipelineSources are the values source= accepts (Ci::Pipeline.sources).
var pipelineSources = []string{
	"unknown", "push", "web", "trigger", "schedule", "api", "external", "pipeline", "chat", "webide",
	"merge_request_event", "external_pull_request_event", "parent_pipeline", "ondemand_dast_scan",
	"ondemand_dast_validation", "security_orchestration_policy", "container_registry_push",
	"duo_workflow", "pipeline_execution_policy_schedule",
}

type pipelineQuery struct {
	page           int64
	perPage        int
	scope          string
	status         string
	ref, sha       string
	username       string
	source         string
	name           *string
	yamlErrors     *bool
	createdAfter   time.Time
	createdBefore  time.Time
	updatedAfter   time.Time
	updatedBefore  time.Time
	orderBy, sortD string
}

// oneOf reads an optional parameter restricted to values (Grape's values:),
// keeping the last of repeated plain keys as Rack does.
func oneOf(q url.Values, key string, values []string) (string, error) {
	v, ok := lastValue(q, key)
	if !ok {
		return "", nil
	}
	if !slices.Contains(values, v) {
		return "", &paramErr{key + " does not have a valid value"}
	}
	return v, nil
}

// dateTime reads a DateTime parameter; Grape accepts ISO 8601.
func dateTime(q url.Values, key string) (time.Time, error) {
	v, ok := lastValue(q, key)
	if !ok {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &paramErr{key + " is invalid"}
}

func parsePipelineQuery(raw string) (pipelineQuery, error) {
	q, _ := url.ParseQuery(raw)
	pq := pipelineQuery{orderBy: "id", sortD: "desc"}
	lq := listQuery{page: 1, perPage: defaultPerPage}
	if err := parsePage(q, &lq); err != nil {
		return pq, err
	}
	pq.page, pq.perPage = lq.page, lq.perPage
	var err error
	if pq.scope, err = oneOf(q, "scope", []string{"running", "pending", "finished", "branches", "tags"}); err != nil {
		return pq, err
	}
	if pq.status, err = oneOf(q, "status", AllStatuses); err != nil {
		return pq, err
	}
	if pq.source, err = oneOf(q, "source", pipelineSources); err != nil {
		return pq, err
	}
	if v, err := oneOf(q, "order_by", []string{"id", "status", "ref", "updated_at", "user_id"}); err != nil {
		return pq, err
	} else if v != "" {
		pq.orderBy = v
	}
	if v, err := oneOf(q, "sort", []string{"asc", "desc"}); err != nil {
		return pq, err
	} else if v != "" {
		pq.sortD = v
	}
	pq.ref, _ = lastValue(q, "ref")
	pq.sha, _ = lastValue(q, "sha")
	pq.username, _ = lastValue(q, "username")
	if v, ok := lastValue(q, "name"); ok {
		pq.name = &v
	}
	if v, ok := lastValue(q, "yaml_errors"); ok {
		b, ok := parseBool(v)
		if !ok {
			return pq, &paramErr{"yaml_errors is invalid"}
		}
		pq.yamlErrors = &b
	}
	for key, dst := range map[string]*time.Time{
		"created_after": &pq.createdAfter, "created_before": &pq.createdBefore,
		"updated_after": &pq.updatedAfter, "updated_before": &pq.updatedBefore,
	} {
		if *dst, err = dateTime(q, key); err != nil {
			return pq, err
		}
	}
	return pq, nil
}

// matches applies the finder's filters to one pipeline.
func (pq pipelineQuery) matches(pl *pipeline) bool {
	st := pl.status()
	switch pq.scope {
	case "running", "pending":
		if st != pq.scope {
			return false
		}
	case "finished":
		if !isFinished(st) {
			return false
		}
	case "branches", "tags":
		// Checked by the caller: the latest pipeline of each ref.
	}
	switch {
	case pq.status != "" && st != pq.status,
		pq.ref != "" && pl.ref != pq.ref,
		pq.sha != "" && pl.sha != pq.sha,
		pq.source != "" && pl.source != pq.source,
		pq.username != "" && (pl.user == nil || pl.user.username != pq.username),
		pq.name != nil,                         // pipelines have no name here (workflow:name)
		pq.yamlErrors != nil && *pq.yamlErrors, // nor configuration errors
		// The time filters are inclusive: CreatedAtFilterable and
		// UpdatedAtFilterable compare with gteq and lteq.
		!pq.createdAfter.IsZero() && pl.createdAt.Before(pq.createdAfter),
		!pq.createdBefore.IsZero() && pl.createdAt.After(pq.createdBefore),
		!pq.updatedAfter.IsZero() && pl.updatedAt.Before(pq.updatedAfter),
		!pq.updatedBefore.IsZero() && pl.updatedAt.After(pq.updatedBefore):
		return false
	}
	return true
}

// listed says whether the finder's base set holds the pipeline: child
// pipelines (source parent_pipeline) only when they are asked for by source
// (Ci::PipelinesFinder#prefiltered_pipelines, pipelines.no_child).
func (pq pipelineQuery) listed(pl *pipeline) bool {
	return pl.source != sourceParentPipeline || pq.source == sourceParentPipeline
}

// latestPerRef keeps, for scope=branches or tags, the newest pipeline of
// each branch or tag.
func latestPerRef(pls []*pipeline, tags bool) map[*pipeline]bool {
	newest := map[string]*pipeline{}
	for _, pl := range pls {
		if pl.tag == tags && pl.source != "pipeline" {
			if cur := newest[pl.ref]; cur == nil || pl.id > cur.id {
				newest[pl.ref] = pl
			}
		}
	}
	out := make(map[*pipeline]bool, len(newest))
	for _, pl := range newest {
		out[pl] = true
	}
	return out
}

func (pq pipelineQuery) less(a, b *pipeline) int {
	var c int
	switch pq.orderBy {
	case "status":
		c = cmp.Compare(a.status(), b.status())
	case "ref":
		c = cmp.Compare(a.ref, b.ref)
	case "updated_at":
		c = a.updatedAt.Compare(b.updatedAt)
	case "user_id":
		c = cmp.Compare(userID(a.user), userID(b.user))
	}
	if c == 0 {
		c = cmp.Compare(a.id, b.id)
	}
	if pq.sortD == "desc" {
		c = -c
	}
	return c
}

func userID(u *user) int64 {
	if u == nil {
		return 0
	}
	return u.id
}

// GET /projects/:id/pipelines: PipelineBasic entities, newest first unless
// told otherwise, with full offset pagination headers (X-Total included).
func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request, p principal) {
	pq, err := parsePipelineQuery(r.URL.RawQuery)
	if err != nil {
		writeQueryErr(w, err)
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
	var only map[*pipeline]bool
	if pq.scope == "branches" || pq.scope == "tags" {
		only = latestPerRef(pr.pipelines, pq.scope == "tags")
	}
	matched := make([]*pipeline, 0, len(pr.pipelines))
	for _, pl := range pr.pipelines {
		if (only == nil || only[pl]) && pq.listed(pl) && pq.matches(pl) {
			matched = append(matched, pl)
		}
	}
	slices.SortStableFunc(matched, pq.less)
	page, more := paginateSlice(matched, pq.page, pq.perPage)
	buf := getPageBuf()
	defer putPageBuf(buf)
	*buf = append(*buf, '[')
	for i, pl := range page {
		if i > 0 {
			*buf = append(*buf, ',')
		}
		*buf = append(*buf, rd.pipelineJSON(pl).pipeline...)
	}
	*buf = append(*buf, ']')
	s.st.mu.RUnlock()

	setOffsetHeaders(w, rd.base, r, pq.page, pq.perPage, more, len(matched))
	writeRawJSON(w, http.StatusOK, *buf)
}

// apiPipelineDetail is Entities::Ci::PipelineWithMetadata.
type apiPipelineDetail struct {
	apiPipeline
	BeforeSHA      string            `json:"before_sha"`
	Tag            bool              `json:"tag"`
	YamlErrors     *string           `json:"yaml_errors"`
	User           *apiUser          `json:"user"`
	StartedAt      *jsTime           `json:"started_at"`
	FinishedAt     *jsTime           `json:"finished_at"`
	CommittedAt    jsTime            `json:"committed_at"`
	Duration       *int64            `json:"duration"`
	QueuedDuration *int64            `json:"queued_duration"`
	Coverage       *string           `json:"coverage"`
	DetailedStatus apiDetailedStatus `json:"detailed_status"`
	Name           *string           `json:"name"`
	Archived       bool              `json:"archived"`
}

// zeroSHA is Git's "no commit", GitLab's before_sha for a ref's first push.
const zeroSHA = "0000000000000000000000000000000000000000"

func optJSTime(t time.Time) *jsTime {
	if t.IsZero() {
		return nil
	}
	v := jsTime(t)
	return &v
}

func (r *renderer) pipelineDetail(pl *pipeline) apiPipelineDetail {
	d, q := pl.durations()
	out := apiPipelineDetail{
		apiPipeline: r.apiPipeline(pl), BeforeSHA: zeroSHA, Tag: pl.tag,
		StartedAt: optJSTime(pl.startedAt()), FinishedAt: optJSTime(pl.finishedAt()),
		CommittedAt: jsTime(pl.createdAt.Add(-time.Minute)), Duration: d, QueuedDuration: q,
		Coverage: pl.coverage(), DetailedStatus: pl.detailedStatus(),
	}
	if pl.user != nil {
		out.User = r.apiUser(pl.user)
	}
	return out
}

// GET /projects/:id/pipelines/:pipeline_id: 404 Not found for a pipeline
// of another project.
func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request, p principal) {
	id, err := intParam(r, "pipeline_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	rd := s.renderer(r)
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleReporter)
	var pl *pipeline
	if fail == nil {
		pl, fail = s.pipelineFor(pr, id)
	}
	var out apiPipelineDetail
	if fail == nil {
		out = rd.pipelineDetail(pl)
	}
	s.st.mu.RUnlock()
	if fail != nil {
		fail(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
