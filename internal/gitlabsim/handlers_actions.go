package gitlabsim

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The four actions: cancel, retry, erase, play. Each takes the write lock
// once: find, check the rule, mutate, count, render, so two concurrent
// retries of one job cannot both succeed.

// action runs fn on the job under the write lock after the common checks
// (project visible, developer rights, job found) and answers with the job fn
// returns, or with fn's reply.
func (s *Server) action(w http.ResponseWriter, r *http.Request, p principal, bridges bool,
	fn func(j *job, now time.Time) (*job, int, reply)) {
	id, err := intParam(r, "job_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	s.actionOn(w, r, p, id, bridges, fn)
}

func (s *Server) actionOn(w http.ResponseWriter, r *http.Request, p principal, id int64, bridges bool,
	fn func(j *job, now time.Time) (*job, int, reply)) {
	rd := s.renderer(r)
	s.st.mu.Lock()
	pr, fail := s.projectFor(r, p, roleDeveloper)
	var j *job
	if fail == nil {
		j, fail = s.buildFor(pr, id, bridges)
	}
	var out []byte
	var code int
	if fail == nil {
		var res *job
		res, code, fail = fn(j, rd.now)
		if fail == nil {
			out = rd.job(res)
		}
	}
	s.st.mu.Unlock()
	if fail != nil {
		fail(w)
		return
	}
	writeRawJSON(w, code, out)
}

// POST /projects/:id/jobs/:job_id/cancel: 201 with the job, changed or not.
// A running job goes to canceling first (unless force=true).
func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p principal) {
	force, err := parseForce(r)
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	s.action(w, r, p, false, func(j *job, now time.Time) (*job, int, reply) {
		switch {
		case j.status == StatusRunning && !force:
			s.st.setStatus(j, StatusCanceling, "", now)
			s.scheduleCanceled(j)
		case j.status == StatusCanceling && force:
			s.st.setStatus(j, StatusCanceled, "", now)
		case isCancelable(j.status):
			s.st.setStatus(j, StatusCanceled, "", now)
		}
		s.stats.action(j.id, actionCancel, nil)
		return j, http.StatusCreated, nil
	})
}

func parseForce(r *http.Request) (bool, error) {
	v, ok := lastValue(r.URL.Query(), "force")
	if !ok {
		body, err := readBody(r)
		if err != nil {
			return false, err
		}
		if raw, has := body["force"]; has {
			switch x := raw.(type) {
			case bool:
				return x, nil
			case string:
				v, ok = x, true
			default:
				return false, &paramErr{"force is invalid"}
			}
		}
	}
	if !ok {
		return false, nil
	}
	b, valid := parseBool(v)
	if !valid {
		return false, &paramErr{"force is invalid"}
	}
	return b, nil
}

// POST /projects/:id/jobs/:job_id/retry: 201 with the new job. Builds and
// bridges.
func (s *Server) retryJob(w http.ResponseWriter, r *http.Request, p principal) {
	s.action(w, r, p, true, func(j *job, now time.Time) (*job, int, reply) {
		if !j.retryable() {
			return nil, 0, func(w http.ResponseWriter) { forbidden(w, "Job is not retryable") }
		}
		n := s.st.retry(j, p.user, now)
		s.stats.action(j.id, actionRetry, nil)
		return n, http.StatusCreated, nil
	})
}

// POST /projects/:id/jobs/:job_id/erase: 201 with the erased job.
func (s *Server) eraseJob(w http.ResponseWriter, r *http.Request, p principal) {
	s.action(w, r, p, false, func(j *job, now time.Time) (*job, int, reply) {
		if !j.erasable() {
			return nil, 0, func(w http.ResponseWriter) { forbidden(w, "Job is not erasable!") }
		}
		s.st.erase(j, now)
		s.stats.action(j.id, actionErase, nil)
		return j, http.StatusCreated, nil
	})
}

// POST /projects/:id/jobs/:job_id/play: 200 with the job that was asked
// for, build or bridge (lib/api/ci/jobs.rb finds it among both). A manual or
// scheduled job is enqueued: pending, its user the caller. A manual build that
// has already run is played as Ci::PlayBuildService does when the enqueue
// transition is refused: it retries the job (a new attempt, with the old
// attempt's variables; the ones sent are not used), and the answer is still
// the job that was asked for, unchanged. A client finds the new attempt as it
// would after a retry: the newer job of the same name in the pipeline.
func (s *Server) playJob(w http.ResponseWriter, r *http.Request, p principal) {
	id, err := intParam(r, "job_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	vars, err := parsePlayVariables(r)
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	s.actionOn(w, r, p, id, true, func(j *job, now time.Time) (*job, int, reply) {
		if !j.playable() {
			return nil, 0, func(w http.ResponseWriter) { badRequest(w, "Unplayable Job") }
		}
		if j.status == StatusManual || j.status == StatusScheduled {
			s.st.setStatus(j, StatusPending, "", now)
			s.st.resetSkippedAfter(j, now)
			j.user = p.user
			if j.isBuild() {
				j.variables = vars
			}
		} else {
			s.st.retry(j, p.user, now)
		}
		s.stats.action(j.id, actionPlay, vars)
		return j, http.StatusOK, nil
	})
}

// readBody reads a JSON object body, or a form body as strings; an absent
// body is empty. The body is cached on the request for a second reader.
func readBody(r *http.Request) (map[string]any, error) {
	if r.Body == nil {
		return map[string]any{}, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, &badRequestErr{"could not read the body"}
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return map[string]any{}, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, &badRequestErr{"invalid form body"}
		}
		out := make(map[string]any, len(form))
		for k, v := range form {
			out[k] = v[len(v)-1]
		}
		out[formKey] = form
		return out, nil
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &badRequestErr{"invalid JSON body"}
	}
	return out, nil
}

const formKey = "\x00form" // where readBody keeps a form body's full values

var formVarKey = regexp.MustCompile(`^job_variables_attributes\[(\d*)\]\[(key|value)\]$`)

// parsePlayVariables reads job_variables_attributes from a JSON body, or the
// form/query forms job_variables_attributes[0][key]=K (or [][key]=K).
// Missing keys or values are Grape's "... is missing" errors, all of them,
// joined as Grape joins them.
func parsePlayVariables(r *http.Request) ([]Variable, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var elems []map[string]any
	if raw, ok := body["job_variables_attributes"]; ok && raw != nil {
		list, ok := raw.([]any)
		if !ok {
			return nil, &paramErr{"job_variables_attributes is invalid"}
		}
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, &paramErr{"job_variables_attributes is invalid"}
			}
			elems = append(elems, m)
		}
	} else {
		form, _ := body[formKey].(url.Values)
		elems = formVariables(r.URL.Query(), form)
	}
	vars := make([]Variable, 0, len(elems))
	var missing []string
	for i, m := range elems {
		k, kok := scalarString(m["key"])
		v, vok := scalarString(m["value"])
		if !kok || k == "" {
			missing = append(missing, fmt.Sprintf("job_variables_attributes[%d][key] is missing", i))
		}
		if !vok {
			missing = append(missing, fmt.Sprintf("job_variables_attributes[%d][value] is missing", i))
		}
		vars = append(vars, Variable{Key: k, Value: v})
	}
	if len(missing) > 0 {
		return nil, &paramErr{strings.Join(missing, ", ")}
	}
	return vars, nil
}

// formVariables collects job_variables_attributes[i][key|value] from query
// and form values. The [] form pairs the n-th key with the n-th value.
func formVariables(sources ...url.Values) []map[string]any {
	byIndex := map[int]map[string]any{}
	var order []int
	next := map[string]int{} // for the [] form: next index per field
	for _, src := range sources {
		for key, vals := range src {
			m := formVarKey.FindStringSubmatch(key)
			if m == nil {
				continue
			}
			for _, v := range vals {
				idx := 0
				if m[1] == "" {
					idx = next[m[2]]
					next[m[2]]++
				} else {
					n, err := strconv.Atoi(m[1])
					if err != nil || n > 1000 {
						continue
					}
					idx = n
				}
				e := byIndex[idx]
				if e == nil {
					e = map[string]any{}
					byIndex[idx] = e
					order = append(order, idx)
				}
				e[m[2]] = v
			}
		}
	}
	sort.Ints(order)
	out := make([]map[string]any, 0, len(order))
	for _, i := range order {
		out = append(out, byIndex[i])
	}
	return out
}

// scalarString coerces a JSON scalar to a string as Grape's String type
// does; null or a missing value is not one.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
