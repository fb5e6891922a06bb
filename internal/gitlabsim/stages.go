package gitlabsim

import "slices"

// defaultStages are GitLab's stages when .gitlab-ci.yml names none.
var defaultStages = []string{".pre", "build", "test", "deploy", ".post"}

// stageOrder decides the order of a pipeline's stages. Given stages are
// used as they are, and every job's stage must be among them (GitLab
// refuses a job whose stage is not declared). Without them the order is
// guessed: GitLab's defaults when every stage used is one of them, otherwise
// the order in which stages first appear among the jobs, then the bridges,
// with .pre first and .post last. Only stages some job uses are kept.
func stageOrder(given []string, jobs []JobSpec, bridges []BridgeSpec) ([]string, error) {
	var used []string
	seen := map[string]bool{}
	note := func(s string) {
		if !seen[s] {
			seen[s] = true
			used = append(used, s)
		}
	}
	for _, j := range jobs {
		note(j.Stage)
	}
	for _, b := range bridges {
		note(b.Stage)
	}
	if len(given) > 0 {
		for _, s := range used {
			if !slices.Contains(given, s) {
				return nil, invalidf("stage %q is used by a job but is not in stages %v", s, given)
			}
		}
		return slices.DeleteFunc(slices.Clone(given), func(s string) bool { return !seen[s] }), nil
	}
	if !slices.ContainsFunc(used, func(s string) bool { return !slices.Contains(defaultStages, s) }) {
		return slices.DeleteFunc(slices.Clone(defaultStages), func(s string) bool { return !seen[s] }), nil
	}
	out := make([]string, 0, len(used))
	if seen[".pre"] {
		out = append(out, ".pre")
	}
	for _, s := range used {
		if s != ".pre" && s != ".post" {
			out = append(out, s)
		}
	}
	if seen[".post"] {
		out = append(out, ".post")
	}
	return out, nil
}
