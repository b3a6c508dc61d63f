package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDisnixEchoCall runs the exact command line Disnix uses, with the
// container properties in the environment.
func TestDisnixEchoCall(t *testing.T) {
	env, _ := StateEnv(t)
	comp := t.TempDir()
	for _, op := range []string{"activate", "deactivate"} {
		r := MustRun(t, append(env, "greeting=hello world"), "dysnomia",
			"--type", "echo", "--operation", op, "--component", comp, "--container", "echo", "--environment")
		if !strings.Contains(r.Stdout, "service: "+comp) || !strings.Contains(r.Stdout, "greeting=hello world") {
			t.Errorf("%s: stdout lacks the component or the property:\n%s", op, r.Stdout)
		}
	}
}

// TestEchoShellCommand is upstream's echo shell scenario, without a terminal.
func TestEchoShellCommand(t *testing.T) {
	env, _ := StateEnv(t)
	out := filepath.Join(t.TempDir(), "out")
	MustRun(t, append(env, "foo=foo"), "dysnomia", "--type", "echo", "--shell", "-c", t.TempDir(), "-E", "--command", "echo $foo > "+out)
	data, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(data)) != "foo" {
		t.Fatalf("shell command output = %q, %v; want foo", data, err)
	}
}
