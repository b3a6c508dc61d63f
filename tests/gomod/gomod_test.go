// Package gomod checks that go.mod and go.sum are what `go mod tidy` would
// write: direct dependencies listed as direct, nothing missing, nothing
// unused.
package gomod

import (
	"os"
	"os/exec"
	"testing"
)

func TestTidy(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go not on PATH: %v", err)
		}
		t.Skip("go not on PATH")
	}
	cmd := exec.Command(gobin, "mod", "tidy", "-diff")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go mod tidy -diff: %v: go.mod or go.sum is not tidy (run go mod tidy):\n%s", err, out)
	}
}
