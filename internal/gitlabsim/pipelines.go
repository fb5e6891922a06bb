package gitlabsim

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Facts about a pipeline that GitLab stores and the simulator derives from
// the pipeline's jobs: when it started and finished, how long it ran, its
// coverage, and the detailed status the UI and API show. The caller holds
// the store's lock.

// latest calls fn for each job of the pipeline that is not retried, builds
// then bridges.
func (pl *pipeline) latest(fn func(*job)) {
	for _, j := range pl.builds {
		if !j.retried {
			fn(j)
		}
	}
	for _, j := range pl.bridges {
		if !j.retried {
			fn(j)
		}
	}
}

// startedAt is when its first job started; zero if none has.
func (pl *pipeline) startedAt() time.Time {
	var t time.Time
	pl.latest(func(j *job) {
		if !j.startedAt.IsZero() && (t.IsZero() || j.startedAt.Before(t)) {
			t = j.startedAt
		}
	})
	return t
}

// finishedAt is when its last job finished, once the pipeline is complete;
// zero while it is not.
func (pl *pipeline) finishedAt() time.Time {
	if !isFinished(pl.status()) {
		return time.Time{}
	}
	t := pl.updatedAt
	pl.latest(func(j *job) {
		if j.finishedAt.After(t) {
			t = j.finishedAt
		}
	})
	return t
}

// durations are GitLab's pipeline duration (running time, known once it is
// complete) and queued_duration (creation to start), in whole seconds as
// GitLab stores them; nil while unknown.
func (pl *pipeline) durations() (duration, queued *int64) {
	started := pl.startedAt()
	if started.IsZero() {
		return nil, nil
	}
	q := int64(math.Max(0, started.Sub(pl.createdAt).Seconds()))
	queued = &q
	if fin := pl.finishedAt(); !fin.IsZero() {
		d := int64(math.Max(0, fin.Sub(started).Seconds()))
		duration = &d
	}
	return duration, queued
}

// coverage is the average coverage of the latest builds that report one,
// as a string with two decimals (Ci::PipelinePresenter#coverage); nil when
// none does.
func (pl *pipeline) coverage() *string {
	var sum float64
	n := 0
	pl.latest(func(j *job) {
		if j.coverage != nil && !math.IsNaN(*j.coverage) {
			sum += *j.coverage
			n++
		}
	})
	if n == 0 {
		return nil
	}
	c := strconv.FormatFloat(sum/float64(n), 'f', 2, 64)
	return &c
}

// stages are the pipeline's stage names in stage order.
func (pl *pipeline) stageNames() []string {
	out := make([]string, 0, len(pl.stages))
	out = append(out, pl.stages...)
	return out
}

// hasWarnings: a successful pipeline with a failed allow_failure job is
// "passed with warnings".
func (pl *pipeline) hasWarnings() bool { return pl.counts[bucketWarning] > 0 }

type apiDetailedStatus struct {
	Icon         string  `json:"icon"`
	Text         string  `json:"text"`
	Label        string  `json:"label"`
	Group        string  `json:"group"`
	Tooltip      string  `json:"tooltip"`
	HasDetails   bool    `json:"has_details"`
	DetailsPath  string  `json:"details_path"`
	Illustration *string `json:"illustration"`
	Favicon      string  `json:"favicon"`
}

// detailedStatus follows Gitlab::Ci::Status::* for a pipeline seen by a
// member: icon, text, label and group per status.
func (pl *pipeline) detailedStatus() apiDetailedStatus {
	st := pl.status()
	icon, text, label, group := "status_"+st, strings.ToUpper(st[:1])+strings.ReplaceAll(st[1:], "_", " "), st, st
	switch st {
	case StatusSuccess:
		text, label = "Passed", "passed"
		if pl.hasWarnings() {
			icon, text, label, group = "status_warning", "Warning", "passed with warnings", "success-with-warnings"
		}
	case StatusManual:
		text, label = "Blocked", "waiting for manual action"
	case StatusScheduled:
		text, label = "Scheduled", "waiting for delayed job"
	case StatusWaitingForResource:
		icon, text, label, group = "status_pending", "Waiting", "waiting for resource", "waiting-for-resource"
	case StatusWaitingForCallback:
		icon, text, label, group = "status_pending", "Waiting", "waiting for callback", "waiting-for-callback"
	case StatusCanceling:
		icon = "status_canceled"
	}
	return apiDetailedStatus{
		Icon: icon, Text: text, Label: label, Group: group, Tooltip: label, HasDetails: true,
		DetailsPath: "/" + pl.project.path + "/-/pipelines/" + itoa(pl.id),
		Favicon:     "/assets/ci_favicons/favicon_" + strings.ReplaceAll(icon, "-", "_") + ".png",
	}
}
