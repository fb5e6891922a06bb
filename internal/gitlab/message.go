package gitlab

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// maxMessage bounds a message kept from an error body: it ends up in
// conditions and events.
const maxMessage = 512

// parseMessage extracts GitLab's message from an error body:
// {"message":"..."}, {"message":{"error":"..."}}, {"message":{"field":["..."]}},
// {"error":"..."}, or plain text from a proxy.
//
// The library parses the same body into ErrorResponse.Message, but renders
// it for a Go developer, not for a condition a user reads: every key in
// braces ("{message: 403 Forbidden - Job is not retryable}"), and a text
// body behind "failed to parse unknown error format:". The sentence GitLab
// wrote is both what a user should see and what classifyStatus matches on,
// so it is taken from ErrorResponse.Body here. (A 404's body comes from the
// transport instead: see callInfo.)
func parseMessage(body []byte) string {
	body = []byte(strings.TrimSpace(string(body)))
	if len(body) == 0 {
		return ""
	}
	var doc struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	var msg string
	if err := json.Unmarshal(body, &doc); err == nil && (doc.Message != nil || doc.Error != nil) {
		if doc.Message != nil {
			msg = flatten(doc.Message)
		}
		if msg == "" && doc.Error != nil {
			msg = flatten(doc.Error)
		}
	} else {
		msg = string(body)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "..."
	}
	return msg
}

// flatten renders a JSON message of any shape as one line.
func flatten(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch t := v.(type) {
		case string:
			return t
		case []any:
			parts := make([]string, 0, len(t))
			for _, x := range t {
				parts = append(parts, walk(x))
			}
			return strings.Join(parts, ", ")
		case map[string]any:
			// {"error": "..."} is GitLab's wrapper for a sentence: show it
			// bare. Other keys are field names.
			if s, ok := t["error"].(string); ok && len(t) == 1 {
				return s
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, k+" "+walk(t[k]))
			}
			return strings.Join(parts, "; ")
		case nil:
			return ""
		default:
			return fmt.Sprint(t)
		}
	}
	return walk(v)
}
