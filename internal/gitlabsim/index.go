package gitlabsim

import (
	"math"
	"slices"
)

// jobIndex keeps a project's build ids in ascending order, all of them and
// per status, so a page of GET /projects/:id/jobs (newest first, optionally
// filtered by status, optionally after a keyset cursor) costs a binary search
// plus the page itself, never a scan of the project's history.
//
// Ids are handed out in increasing order, so adding a new job is an append.
// A status change moves one id between two per-status slices; that copy is
// short in practice because the jobs that change are the recent ones, at the
// end of the slices.
type jobIndex struct {
	all      []int64
	byStatus map[string][]int64
}

func (x *jobIndex) add(id int64, status string) {
	x.all = insertSorted(x.all, id)
	if x.byStatus == nil {
		x.byStatus = make(map[string][]int64)
	}
	x.byStatus[status] = insertSorted(x.byStatus[status], id)
}

func (x *jobIndex) move(id int64, from, to string) {
	if from == to {
		return
	}
	x.byStatus[from] = removeSorted(x.byStatus[from], id)
	x.byStatus[to] = insertSorted(x.byStatus[to], id)
}

func insertSorted(s []int64, id int64) []int64 {
	if n := len(s); n == 0 || s[n-1] < id {
		return append(s, id)
	}
	i, found := slices.BinarySearch(s, id)
	if found {
		return s
	}
	return slices.Insert(s, i, id)
}

func removeSorted(s []int64, id int64) []int64 {
	i, found := slices.BinarySearch(s, id)
	if !found {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// sources returns the sorted slices to merge: all builds, or one per
// requested status.
func (x *jobIndex) sources(statuses []string) [][]int64 {
	if len(statuses) == 0 {
		return [][]int64{x.all}
	}
	out := make([][]int64, 0, len(statuses))
	for _, s := range statuses {
		if ids := x.byStatus[s]; len(ids) > 0 {
			out = append(out, ids)
		}
	}
	return out
}

// page returns up to limit ids in descending order, among ids below before
// (no bound when before is 0 or less), after skipping skip of them, and
// whether more follow. statuses must hold no duplicates.
func (x *jobIndex) page(statuses []string, before int64, skip, limit int) (ids []int64, more bool) {
	if before <= 0 {
		before = math.MaxInt64
	}
	src := x.sources(statuses)
	// heads[i] is the index of the next (largest remaining) id in src[i].
	heads := make([]int, len(src))
	remaining := 0
	for i, s := range src {
		j, _ := slices.BinarySearch(s, before) // first index with s[j] >= before
		heads[i] = j - 1
		remaining += j
	}
	if skip >= remaining {
		return nil, false
	}
	if len(src) == 1 {
		// One sorted slice: index arithmetic, no walk.
		h := heads[0] - skip
		n := min(limit, h+1)
		ids = make([]int64, 0, n)
		for k := 0; k < n; k++ {
			ids = append(ids, src[0][h-k])
		}
		return ids, h+1 > n
	}
	ids = make([]int64, 0, min(limit, remaining-skip))
	for {
		best := -1
		for i, h := range heads {
			if h >= 0 && (best < 0 || src[i][h] > src[best][heads[best]]) {
				best = i
			}
		}
		if best < 0 {
			return ids, false
		}
		if skip > 0 {
			skip--
		} else if len(ids) == limit {
			return ids, true
		} else {
			ids = append(ids, src[best][heads[best]])
		}
		heads[best]--
	}
}
