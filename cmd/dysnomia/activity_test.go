package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// world is a throwaway machine: a state dir, containers and components
// paths, and a modules dir holding "recorder", an external module that writes
// its argv and environment to a file and exits with $exitWith.
type world struct {
	root, state, containers, components, modules, record string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	root := t.TempDir()
	w := &world{
		root:       root,
		state:      filepath.Join(root, "state"),
		containers: filepath.Join(root, "containers"),
		components: filepath.Join(root, "components"),
		modules:    filepath.Join(root, "modules"),
		record:     filepath.Join(root, "record"),
	}
	for _, d := range []string{w.containers, w.components, w.modules} {
		mkdir(t, d)
	}
	script := fmt.Sprintf("#!/bin/sh\n{ for a in \"$@\"; do echo \"$a\"; done; echo ---; env; } > %s\nif [ -n \"$killMe\" ]; then kill -9 $$; fi\nexit ${exitWith:-0}\n", w.record)
	writeFile(t, filepath.Join(w.modules, "recorder"), script, 0o755)
	return w
}

func (w *world) environ(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + w.root,
		"DYSNOMIA_STATEDIR=" + w.state,
		"DYSNOMIA_CONTAINERS_PATH=" + w.containers,
		"DYSNOMIA_COMPONENTS_PATH=" + w.components,
		"DYSNOMIA_MODULES_PATH=" + w.modules,
	}, extra...)
}

// recorded returns the recorder's argv and its environment without the
// variables the shell adds by itself.
func (w *world) recorded(t *testing.T) (argv []string, env map[string]string) {
	t.Helper()
	data, err := os.ReadFile(w.record)
	if err != nil {
		t.Fatalf("the recorder module did not run: %v", err)
	}
	args, envText, _ := strings.Cut(string(data), "---\n")
	argv = strings.Split(strings.TrimSuffix(args, "\n"), "\n")
	env = map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(envText, "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "PWD", "SHLVL", "_", "OLDPWD":
			continue
		}
		env[k] = v
	}
	return argv, env
}

func runCLI(t *testing.T, prog string, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{prog}, args...), strings.NewReader(""), &out, &errb, environ)
	return out.String(), errb.String(), code
}

func TestContainerFileProtocol(t *testing.T) {
	w := newWorld(t)
	writeFile(t, filepath.Join(w.containers, "mycont"), "type=recorder\ngreeting=\"hello world\"\nlist=(\"a b\" c)\nquote='it''s'\n", 0o644)
	comp := filepath.Join(w.root, "pkgs", "comp1")
	mkdir(t, comp)
	mkdir(t, filepath.Join(w.components, "mycont"))
	if err := os.Symlink(comp, filepath.Join(w.components, "mycont", "comp1")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "dysnomia", w.environ("SECRET_OF_CALLER=x"), "activate", "--component", "comp1", "--container", "mycont")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	argv, env := w.recorded(t)
	if diff := cmp.Diff([]string{"activate", comp, "mycont"}, argv); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
	want := map[string]string{
		"greeting":          "hello world",
		"list":              "a b c",
		"quote":             "its",
		"PATH":              os.Getenv("PATH"),
		"HOME":              w.root,
		"DYSNOMIA_STATEDIR": w.state,
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("module environment (-want +got):\n%s", diff)
	}
}

func TestDisnixEnvironmentCall(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "nix", "store", "abc-testdb")
	mkdir(t, comp)
	_, stderr, code := runCLI(t, "dysnomia", w.environ("mysqlUsername=root", "spaced=a  b"),
		"--type", "recorder", "--operation", "snapshot", "--component", comp, "--container", "mysql-database", "--environment")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	argv, env := w.recorded(t)
	if diff := cmp.Diff([]string{"snapshot", comp, "mysql-database"}, argv); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{"mysqlUsername": "root", "spaced": "a  b", "DYSNOMIA_STATEDIR": w.state, "DYSNOMIA_COMPONENTS_PATH": w.components} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q (environment mode keeps the caller's environment)", k, env[k], v)
		}
	}
}

func TestEnvironmentModeWithoutContainerUsesType(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	if _, stderr, code := runCLI(t, "dysnomia", w.environ(), "-E", "-t", "recorder", "-o", "lock", "-c", comp); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	argv, _ := w.recorded(t)
	if diff := cmp.Diff([]string{"lock", comp, "recorder"}, argv); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
}

func TestExitStatusPassthrough(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	for _, tt := range []struct {
		env  string
		want int
	}{{"exitWith=0", 0}, {"exitWith=1", 1}, {"exitWith=42", 42}, {"exitWith=255", 255}, {"killMe=1", 128 + 9}} {
		_, stderr, code := runCLI(t, "dysnomia", w.environ(tt.env), "-E", "-t", "recorder", "-o", "activate", "-c", comp)
		if code != tt.want {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.env, code, tt.want, stderr)
		}
	}
}

func TestResolutionErrors(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	writeFile(t, filepath.Join(w.containers, "typeless"), "a=1\n", 0o644)
	writeFile(t, filepath.Join(w.containers, "broken"), "type=recorder\nmem=$(cat /proc/meminfo)\n", 0o644)
	writeFile(t, filepath.Join(w.containers, "unknown"), "type=no-such-module\n", 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no container", []string{"-o", "activate", "-c", comp}, "no container given"},
		{"environment without type", []string{"-o", "activate", "-c", comp, "-E"}, "--environment needs --type"},
		{"container not found", []string{"-o", "activate", "-c", comp, "-C", "nope"}, `no container configuration "nope"`},
		{"no type", []string{"-o", "activate", "-c", comp, "-C", "typeless"}, "has no type= line and no --type was given"},
		{"unknown type", []string{"-o", "activate", "-c", comp, "-C", "unknown"}, `unknown module type "no-such-module"`},
		{"shell code in container", []string{"-o", "activate", "-c", comp, "-C", "broken"}, `broken:2: the value of "mem" needs shell evaluation`},
		{"no component", []string{"-o", "activate", "-C", "unknown"}, "missing flags: --component"},
		{"component not found", []string{"-o", "activate", "-c", "nope", "-E", "-t", "recorder"}, `no component configuration "nope" for container "recorder"`},
		{"bad activity", []string{"-o", "frob", "-c", comp, "-E", "-t", "recorder"}, `unknown activity "frob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, "dysnomia", w.environ(), tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.HasPrefix(stderr, "dysnomia: error: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want a dysnomia: error: line containing %q", stderr, tt.want)
			}
			if _, err := os.Stat(w.record); err == nil {
				t.Error("the module ran despite the error")
			}
		})
	}
}

func TestShellValuesOptIn(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	writeFile(t, filepath.Join(w.containers, "evaluated"), "type=recorder\nmem=\"$(echo 42)\"\n", 0o644)
	for mode, want := range map[string]string{"literal": "$(echo 42)", "eval": "42"} {
		_, stderr, code := runCLI(t, "dysnomia", w.environ("DYSNOMIA_SHELL_VALUES="+mode), "activate", "-c", comp, "-C", "evaluated")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", mode, code, stderr)
		}
		if _, env := w.recorded(t); env["mem"] != want {
			t.Errorf("%s: mem = %q, want %q", mode, env["mem"], want)
		}
	}
}

func TestTypePrecedence(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	writeFile(t, filepath.Join(w.containers, "typed"), "type=recorder\n", 0o644)
	writeFile(t, filepath.Join(w.containers, "untyped"), "x=1\n", 0o644)
	// The file's type wins over -t.
	if _, stderr, code := runCLI(t, "dysnomia", w.environ(), "-o", "activate", "-c", comp, "-C", "typed", "-t", "no-such"); code != 0 {
		t.Fatalf("file type did not win: exit %d: %s", code, stderr)
	}
	// -t is the fallback.
	os.Remove(w.record)
	if _, stderr, code := runCLI(t, "dysnomia", w.environ(), "-o", "activate", "-c", comp, "-C", "untyped", "-t", "recorder"); code != 0 {
		t.Fatalf("-t fallback: exit %d: %s", code, stderr)
	}
	w.recorded(t)
}

func TestModulesPathOverridesNativeModules(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	data, _ := os.ReadFile(filepath.Join(w.modules, "recorder"))
	writeFile(t, filepath.Join(w.modules, "echo"), string(data), 0o755)
	stdout, stderr, code := runCLI(t, "dysnomia", w.environ(), "-o", "activate", "-c", comp, "-E", "-t", "echo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "Echo module") {
		t.Error("the native echo module ran instead of the one on DYSNOMIA_MODULES_PATH")
	}
	w.recorded(t)
}

func TestModuleGivenAsPath(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	rec, _ := os.ReadFile(filepath.Join(w.modules, "recorder"))
	pkg := filepath.Join(w.root, "pkg")
	writeFile(t, filepath.Join(pkg, "libexec", "dysnomia", "mymod"), string(rec), 0o755)
	two := filepath.Join(w.root, "two")
	writeFile(t, filepath.Join(two, "libexec", "dysnomia", "a"), string(rec), 0o755)
	writeFile(t, filepath.Join(two, "libexec", "dysnomia", "b"), string(rec), 0o755)

	for _, typ := range []string{filepath.Join(w.modules, "recorder"), pkg} {
		os.Remove(w.record)
		if _, stderr, code := runCLI(t, "dysnomia", w.environ(), "-o", "activate", "-c", comp, "-E", "-t", typ); code != 0 {
			t.Fatalf("type %s: exit %d: %s", typ, code, stderr)
		}
		argv, _ := w.recorded(t)
		if argv[2] != typ {
			t.Errorf("container argument = %q, want the type %q", argv[2], typ)
		}
	}
	_, stderr, code := runCLI(t, "dysnomia", w.environ(), "-o", "activate", "-c", comp, "-E", "-t", two)
	if code != 1 || !strings.Contains(stderr, "want exactly one file in libexec/dysnomia, found 2") {
		t.Errorf("package with two modules: exit %d, stderr %q", code, stderr)
	}
}

func TestContainerGivenAsPath(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	file := filepath.Join(w.root, "elsewhere", "mysql-container")
	writeFile(t, file, "type=recorder\nmysqlSocket=/run/mysqld/mysqld.sock\n", 0o644)
	_, stderr, code := runCLI(t, "dysnomia", w.environ(), "--operation", "deactivate", "--container", file, "--component", comp)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	argv, env := w.recorded(t)
	if argv[2] != file || env["mysqlSocket"] != "/run/mysqld/mysqld.sock" {
		t.Errorf("argv %q env %v", argv, env)
	}
}

func TestShellSourcesExternalModule(t *testing.T) {
	w := newWorld(t)
	comp := filepath.Join(w.root, "c")
	mkdir(t, comp)
	writeFile(t, filepath.Join(w.modules, "shellmod"), "#!/bin/bash\nmoduleVariable=\"set by $1\"\n", 0o755)
	writeFile(t, filepath.Join(w.containers, "k"), "type=shellmod\nprop='a b'\n", 0o644)
	stdout, stderr, code := runCLI(t, "dysnomia", w.environ("CALLER=kept"), "shell", "-c", comp, "-C", "k",
		"--command", `echo "$moduleVariable|$prop|$CALLER|$this_component|$this_container"; exit 3`)
	if code != 3 {
		t.Fatalf("exit %d, want the session's 3: %s", code, stderr)
	}
	if want := "set by shell|a b|kept|" + comp + "|k\n"; stdout != want {
		t.Errorf("session output = %q, want %q", stdout, want)
	}
}

func TestVersionAndHelp(t *testing.T) {
	w := newWorld(t)
	for _, prog := range []string{"dysnomia", "dysnomia-snapshots", "dysnomia-containers"} {
		stdout, _, code := runCLI(t, "/usr/bin/"+prog, w.environ(), "--version")
		if code != 0 || !strings.HasPrefix(stdout, prog+" (dysnomia ") {
			t.Errorf("%s --version: exit %d, %q", prog, code, stdout)
		}
	}
	stdout, _, code := runCLI(t, "dysnomia", w.environ(), "--help")
	if code != 0 || !strings.Contains(stdout, "Exit status:") || !strings.Contains(stdout, "75 the state directory is locked") {
		t.Errorf("--help: exit %d, output lacks the exit codes:\n%s", code, stdout)
	}
}

func TestModulesList(t *testing.T) {
	stdout, _, code := runCLI(t, "dysnomia", nil, "modules")
	got := strings.Fields(stdout)
	if code != 0 || !sort.StringsAreSorted(got) || !contains(got, "echo") || !contains(got, "fileset") || !contains(got, "postgresql-database") {
		t.Errorf("modules: exit %d, %q", code, stdout)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
