// Package e2e runs the built dysnomia binary against real servers and real
// files, the way users and Disnix run it.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

// bin is the dysnomia binary built once for the package by TestMain; the
// symlinks dysnomia-snapshots, dysnomia-containers and the account tools
// (dysnomia-addusers, …) sit next to it.
var bin string

func TestMain(m *testing.M) {
	proctest.DaemonMain() // the test binary doubles as the process modules' test daemon
	dir, err := os.MkdirTemp("", "dysnomia-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "dysnomia")
	build := exec.Command("go", "build", "-o", bin, "github.com/dysnomia-go/dysnomia/cmd/dysnomia")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build dysnomia:", err)
		os.Exit(1)
	}
	for _, alias := range []string{"dysnomia-snapshots", "dysnomia-containers",
		"dysnomia-addusers", "dysnomia-delusers", "dysnomia-addgroups", "dysnomia-delgroups"} {
		if err := os.Symlink("dysnomia", filepath.Join(dir, alias)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Result is what one run of the binary produced.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs the binary named prog ("dysnomia", "dysnomia-snapshots" or
// "dysnomia-containers") with args and exactly the environment env (plus
// PATH, which always includes the binary's directory).
func Run(t testing.TB, env []string, prog string, args ...string) Result {
	t.Helper()
	return RunStdin(t, env, "", prog, args...)
}

// RunStdin is Run with standard input.
func RunStdin(t testing.TB, env []string, stdin, prog string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(filepath.Join(filepath.Dir(bin), prog), args...)
	cmd.Env = withPath(env)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", prog, args, err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// MustRun is Run that fails the test on a non-zero exit.
func MustRun(t testing.TB, env []string, prog string, args ...string) Result {
	t.Helper()
	r := Run(t, env, prog, args...)
	if r.Code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", prog, strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func withPath(env []string) []string {
	path := filepath.Dir(bin) + ":" + os.Getenv("PATH")
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = filepath.Dir(bin) + ":" + strings.TrimPrefix(kv, "PATH=")
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path)
}

// StateEnv returns a minimal environment with a fresh state directory and
// empty containers/components paths under a test temp dir.
func StateEnv(t testing.TB) (env []string, stateDir string) {
	t.Helper()
	root := t.TempDir()
	stateDir = filepath.Join(root, "state")
	env = []string{
		"HOME=" + root,
		"DYSNOMIA_STATEDIR=" + stateDir,
		"DYSNOMIA_CONTAINERS_PATH=" + filepath.Join(root, "containers"),
		"DYSNOMIA_COMPONENTS_PATH=" + filepath.Join(root, "components"),
	}
	return env, stateDir
}
