package gitlab

import (
	"context"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// Pipeline is a pipeline as GitLab's pipelines list gives it.
type Pipeline struct {
	// ID is the pipeline's id.
	ID int64
	// Status is the pipeline's composite status; Source what started it
	// (push, schedule, parent_pipeline...); Ref its branch or tag.
	Status, Source, Ref string
	// CreatedAt and UpdatedAt are GitLab's timestamps, in milliseconds:
	// UpdatedAt moves when the pipeline's status changes.
	CreatedAt, UpdatedAt time.Time
}

// PipelinesPerPage is how many pipelines ListPipelinesUpdatedSince returns
// at most: GitLab's largest page.
const PipelinesPerPage = perPage

// updatedAfterLayout renders the updated_after filter with the milliseconds
// GitLab renders updated_at with, so a time read from an answer asks for that
// pipeline again (the filter is inclusive) and not for the whole second
// before it, which is what the library's whole-second encoding would send.
const updatedAfterLayout = "2006-01-02T15:04:05.000Z"

// ListPipelinesUpdatedSince returns the first PipelinesPerPage of a
// project's pipelines in order of last update, oldest first, among those
// last updated at or after since (all when since is zero). GitLab lists
// child pipelines apart: children asks for them (source parent_pipeline)
// instead of the others. One request; the caller moves since forward to
// read on, which costs no deep offset however long the history.
func (c *client) ListPipelinesUpdatedSince(ctx context.Context, project string, since time.Time, children bool) ([]Pipeline, error) {
	pid, _, err := projectRef(project)
	if err != nil {
		return nil, err
	}
	opts := &gl.ListProjectPipelinesOptions{ListOptions: gl.ListOptions{PerPage: perPage, Page: 1},
		OrderBy: gl.Ptr("updated_at"), Sort: gl.Ptr("asc")}
	if children {
		opts.Source = gl.Ptr(string(gl.PipelineSourceParentPipeline))
	}
	ctx, info := startCall(ctx, http.MethodGet, epPipelines)
	reqOpts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
	if !since.IsZero() {
		reqOpts = append(reqOpts, withQuery("updated_after", since.UTC().Format(updatedAfterLayout)))
	}
	list, _, err := c.gl.Pipelines.ListProjectPipelines(pid, opts, reqOpts...)
	if err != nil {
		return nil, c.fail(err, info)
	}
	out := make([]Pipeline, 0, len(list))
	for _, p := range list {
		if p == nil {
			continue
		}
		out = append(out, Pipeline{ID: p.ID, Status: p.Status, Source: p.Source, Ref: p.Ref,
			CreatedAt: timeOrZero(p.CreatedAt), UpdatedAt: timeOrZero(p.UpdatedAt)})
	}
	return out, nil
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
