package devenv

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// WaitForURL polls url until it answers with any status below 500 (a 401
// still proves the server is up), ctx ends, or exited is closed (the server
// died: waiting longer would only hide its log).
func WaitForURL(ctx context.Context, url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %w)", url, ctx.Err(), last)
		case <-exited:
			return fmt.Errorf("waiting for %s: the server exited", url)
		case <-tick.C:
		}
	}
}
