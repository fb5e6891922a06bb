package gitlabsim

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GET /projects/:id/jobs/:job_id/artifacts: the archive a job advertises
// in artifacts_file, as lib/api/ci/job_artifacts.rb serves it: reporters
// (and the project's running jobs, with their token) may download it; a job
// id that is not a build of the project is 404 Not found, a build without an
// archive (none made, or erased) 404 Not Found.

// artifactsSize is the size every archive has, padded to it, so the
// artifacts_file.size the job shows is the size a client downloads.
const artifactsSize = 1000

// artifactsArchive builds a job's archive: a small, valid zip holding one
// text file, the same bytes for the same job.
func artifactsArchive(id int64, name string, finished time.Time) ([]byte, error) {
	build := func(comment string) ([]byte, error) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		f, err := zw.CreateHeader(&zip.FileHeader{
			Name: "artifacts/" + name + ".txt", Method: zip.Deflate, Modified: finished.UTC().Truncate(time.Second),
		})
		if err != nil {
			return nil, err
		}
		if _, err := fmt.Fprintf(f, "artifacts of job %d (%s), simulated by gitlab-sim\n", id, name); err != nil {
			return nil, err
		}
		if err := zw.SetComment(comment); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	b, err := build("")
	if err != nil || len(b) >= artifactsSize {
		return b, err
	}
	return build(strings.Repeat(" ", artifactsSize-len(b)))
}

func (s *Server) getArtifacts(w http.ResponseWriter, r *http.Request, p principal) {
	id, err := intParam(r, "job_id")
	if err != nil {
		writeQueryErr(w, err)
		return
	}
	s.st.mu.RLock()
	pr, fail := s.projectFor(r, p, roleReporter)
	var j *job
	if fail == nil {
		j, fail = s.buildFor(pr, id, false)
	}
	if fail == nil && !j.hasArtifacts {
		fail = resourceNotFound
	}
	var name string
	var finished time.Time
	if fail == nil {
		name, finished = j.name, j.finishedAt
	}
	s.st.mu.RUnlock()
	if fail != nil {
		fail(w)
		return
	}
	zb, err := artifactsArchive(id, name, finished)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="artifacts.zip"; filename*=UTF-8''artifacts.zip`)
	h.Set("Content-Transfer-Encoding", "binary")
	h.Set("Content-Length", strconv.Itoa(len(zb)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(zb)
	}
}
