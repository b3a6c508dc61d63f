package nix

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestVendorHashIsCurrent runs nix/update-vendor-hash.sh --print — `go mod
// vendor` on package.nix's source set, hashed as a NAR by Nix's own tools —
// and compares the result with the vendorHash in nix/package.nix. A stale
// hash makes `nix build` fail after a dependency change; the fix is to run
// the script.
func TestVendorHashIsCurrent(t *testing.T) {
	need(t, "nix-hash")
	need(t, "go")
	need(t, "git")
	m := regexp.MustCompile(`(?m)^\s*vendorHash = "([^"]*)";`).FindSubmatch(readFile(t, "nix/package.nix"))
	if m == nil {
		t.Fatal("nix/package.nix: no vendorHash line")
	}
	cmd := exec.Command("bash", file("nix/update-vendor-hash.sh"), "--print")
	cmd.Dir = root
	cmd.Env = nixEnv()
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("nix/update-vendor-hash.sh --print: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if !regexp.MustCompile(`^sha256-[A-Za-z0-9+/]{43}=$`).MatchString(got) {
		t.Fatalf("update-vendor-hash.sh printed %q, want an SRI sha256 hash", got)
	}
	if want := string(m[1]); got != want {
		t.Errorf("nix/package.nix has vendorHash = %q, but the Go modules hash to %q: run nix/update-vendor-hash.sh", want, got)
	}
}
