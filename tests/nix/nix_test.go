// Package nix checks the Nix side of the project with the real Nix
// evaluator (nix-instantiate): every .nix file parses, the NixOS module's
// JSON projection evaluated on fixture option values is exactly what the Go
// decoder expects, the module's assertions say what they should, the
// upstream-compatible files it writes read back with the Go parser, the flake
// is laid out as documented and pinned as agreed, nix/package.nix's
// vendorHash matches the Go modules, and the whole module evaluates with a
// stand-in lib and stubs of the nixpkgs modules it meets (testdata/nixos,
// each stub naming the nixpkgs file it mirrors). Nothing here needs
// nixpkgs; building
// the package and the NixOS VM tests (tests/nixos) need a machine with Nix,
// nixpkgs and KVM.
//
// Without nix-instantiate the tests skip, or fail under CI=true.
package nix

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// root is the repository's absolute path.
var root = func() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return dir
}()

// need returns the path of a program the tests run, or stops the test:
// skipped normally, failed under CI=true.
func need(t testing.TB, prog string) string {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found (tests/nix needs nix-instantiate from Debian's nix-bin, shellcheck and go): %v", prog, err)
	}
	t.Skipf("%s not found (tests/nix needs nix-instantiate from Debian's nix-bin, shellcheck and go): %v", prog, err)
	return ""
}

// nixEnv is the environment of the Nix commands: the caller's, with a
// setting that keeps Nix quiet about a build-users-group it does not need
// for evaluation.
func nixEnv() []string {
	conf := "build-users-group ="
	if old := os.Getenv("NIX_CONFIG"); old != "" {
		conf = old + "\n" + conf
	}
	return append(os.Environ(), "NIX_CONFIG="+conf)
}

// instantiate runs nix-instantiate in read-only mode (it writes nothing to
// the store) and returns its standard output; a failure fails the test with
// Nix's message.
func instantiate(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := tryInstantiate(t, args...)
	if err != nil {
		t.Fatalf("nix-instantiate %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func tryInstantiate(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(need(t, "nix-instantiate"), append([]string{"--readonly-mode"}, args...)...)
	cmd.Dir = root
	cmd.Env = nixEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &nixError{err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

type nixError struct {
	err    error
	stderr string
}

func (e *nixError) Error() string { return e.err.Error() + "\n" + e.stderr }

// evalJSON evaluates a Nix expression strictly and returns it as JSON.
func evalJSON(t testing.TB, expr string) []byte {
	t.Helper()
	return instantiate(t, "--eval", "--strict", "--json", "--expr", expr)
}

// decodeJSON unmarshals JSON into a generic value, for go-cmp.
func decodeJSON(t testing.TB, what string, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, data)
	}
	return v
}

// file is the absolute path of a repository file, as a Nix path literal.
func file(rel string) string {
	return filepath.Join(root, filepath.FromSlash(rel))
}

// nixString quotes s as a Nix string.
func nixString(s string) string {
	q := strconv.Quote(s)
	return strings.ReplaceAll(q, "${", `\${`)
}

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(file(rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
