package gitlab

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestListPipelinesUpdatedSinceAsksForOnePageByLastUpdateFromAnExactMillisecond(t *testing.T) {
	f := newFake(t)
	f.handle("GET /api/v4/projects/{id}/pipelines", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, []map[string]any{
			{"id": 41, "status": "success", "source": "push", "ref": "main",
				"created_at": "2024-03-01T10:00:00.000Z", "updated_at": "2024-03-01T10:05:00.123Z"},
			{"id": 42, "status": "running", "source": "push", "ref": "feature",
				"created_at": "2024-03-01T11:00:00.000Z", "updated_at": "2024-03-01T11:00:01.500Z"},
		})
	})
	c := f.client(t)
	since := time.Date(2024, 3, 1, 10, 5, 0, 123_456_000, time.UTC)
	got, err := c.ListPipelinesUpdatedSince(context.Background(), "group/app", since, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != 41 || got[1].Status != "running" || got[1].Ref != "feature" ||
		!got[0].UpdatedAt.Equal(time.Date(2024, 3, 1, 10, 5, 0, 123_000_000, time.UTC)) {
		t.Fatalf("pipelines = %+v", got)
	}
	q, _ := url.ParseQuery(f.lastQuery())
	for key, want := range map[string]string{"order_by": "updated_at", "sort": "asc", "per_page": "100", "page": "1",
		"updated_after": "2024-03-01T10:05:00.123Z", "source": ""} {
		if q.Get(key) != want {
			t.Errorf("%s = %q, want %q (query %s)", key, q.Get(key), want, f.lastQuery())
		}
	}
	if f.count("GET /api/v4/projects/group%2Fapp/pipelines") != 1 {
		t.Errorf("requests: %v", f.hits)
	}

	if _, err := c.ListPipelinesUpdatedSince(context.Background(), "group/app", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	q, _ = url.ParseQuery(f.lastQuery())
	if q.Get("source") != "parent_pipeline" || q.Has("updated_after") {
		t.Errorf("child pipelines from the start: query %s", f.lastQuery())
	}
}
