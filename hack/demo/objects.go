package main

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

// object is what the demo reads of one object of `kubectl get gitlab`,
// whatever its kind: enough to check its expectation annotations and to
// notice when it changes.
type object struct {
	Kind        string
	Name        string
	Annotations map[string]string
	Conditions  []metav1.Condition
	// TotalActions is a JobWatch's count of actions; nil for other kinds.
	TotalActions *int64
	// ResultJob is a JobAction's resulting job; nil until there is one.
	ResultJob *civ1alpha1.JobSummary
}

// decodeList reads `kubectl get -o json` output. The list mixes kinds, so
// each item is decoded into its kind's API type; an item of another kind
// keeps only its name and annotations.
func decodeList(raw string) ([]object, error) {
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("decoding kubectl's list: %w", err)
	}
	out := make([]object, 0, len(list.Items))
	for _, item := range list.Items {
		o, err := decodeObject(item)
		if err != nil {
			return nil, fmt.Errorf("decoding kubectl's list: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

func decodeObject(raw json.RawMessage) (object, error) {
	var meta metav1.PartialObjectMetadata
	if err := json.Unmarshal(raw, &meta); err != nil {
		return object{}, err
	}
	o := object{Kind: meta.Kind, Name: meta.Name, Annotations: meta.Annotations}
	var err error
	switch meta.Kind {
	case "JobAction":
		var ja civ1alpha1.JobAction
		err = json.Unmarshal(raw, &ja)
		o.Conditions, o.ResultJob = ja.Status.Conditions, ja.Status.ResultJob
	case "JobWatch":
		var jw civ1alpha1.JobWatch
		err = json.Unmarshal(raw, &jw)
		o.Conditions, o.TotalActions = jw.Status.Conditions, &jw.Status.TotalActions
	case "GitLabConnection":
		var c civ1alpha1.GitLabConnection
		err = json.Unmarshal(raw, &c)
		o.Conditions = c.Status.Conditions
	}
	return o, err
}
