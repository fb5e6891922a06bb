package devenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// modulePath is this repository's Go module; RepoRoot looks for its go.mod.
const modulePath = "github.com/jobops-dev/gitlab-job-operator"

// RepoRoot finds the repository's root from dir or one of its parents: the
// directory whose go.mod declares this module. Binaries built with -trimpath
// cannot learn it from their source file names, and `go test` runs each
// package in its own directory, so both walk up from where they run.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+modulePath)) {
			return d, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s in %s or its parents", modulePath, dir)
		}
	}
}
