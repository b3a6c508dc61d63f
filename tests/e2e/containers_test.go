package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/nobody"
)

// e2eRecorder is an external module that appends "<activity> <component>
// <container>" to $log and exits 0.
const e2eRecorder = "#!/bin/sh\necho \"$1 $2 $3\" >> \"$log\"\n"

// machine is a directory of container files and components (links into a
// fake Nix store) with the echo, fileset and an external module.
type machine struct {
	env                                                []string
	root, state, store, components, log, target, props string
	hello, web, x                                      string // store paths
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	env, state := StateEnv(t)
	root := filepath.Dir(state)
	m := &machine{
		root:       root,
		state:      state,
		store:      filepath.Join(root, "nix", "store"),
		components: filepath.Join(root, "components"),
		log:        filepath.Join(root, "recorder.log"),
		target:     filepath.Join(root, "srv", "web"),
		props:      filepath.Join(root, "properties"),
	}
	modules := filepath.Join(root, "modules")
	m.env = append(env, "NIX_STORE_DIR="+m.store, "DYSNOMIA_MODULES_PATH="+modules, "DYSNOMIA_PROPERTIES="+m.props)
	write(t, filepath.Join(modules, "recorder"), e2eRecorder, 0o755)
	containers := filepath.Join(root, "containers")
	write(t, filepath.Join(containers, "echo"), "type=echo\ngreeting=\"hello world\"\n", 0o644)
	write(t, filepath.Join(containers, "fileset"), "type=fileset\n", 0o644)
	write(t, filepath.Join(containers, "rec"), "type=recorder\nlog="+m.log+"\n", 0o644)
	m.hello = m.component(t, "echo", "11111111111111111111111111111111", "hello", nil)
	m.web = m.component(t, "fileset", "22222222222222222222222222222222", "web", map[string]string{
		".dysnomia-targetdir": m.target + "\n",
		".dysnomia-fileset":   "symlink " + filepath.Join(m.store, "22222222222222222222222222222222-web", "bin") + "\ntarget .\nmkdir files\n",
		"bin/showfiles":       "#!/bin/sh\nls \"$@\"\n",
	})
	m.x = m.component(t, "rec", "33333333333333333333333333333333", "x", nil)
	write(t, m.props, "hostname=\"machine\"\nmem=\"$(grep 'MemTotal:' /proc/meminfo | sed -e 's/kB//' -e 's/MemTotal://' -e 's/ //g')\"\nsupportedTypes=(\"echo\" \"fileset\" \"recorder\" )\nsystem=\"x86_64-linux\"\n", 0o644)
	return m
}

func (m *machine) component(t *testing.T, container, hash, name string, files map[string]string) string {
	t.Helper()
	p := filepath.Join(m.store, hash+"-"+name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		write(t, filepath.Join(p, rel), body, 0o755)
	}
	link := filepath.Join(m.components, container, name)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	return p
}

// calls returns the external module's calls since the last time.
func (m *machine) calls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(m.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(m.log)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func (m *machine) lines(t *testing.T, args ...string) []string {
	t.Helper()
	r := MustRun(t, m.env, "dysnomia-containers", args...)
	if r.Stdout == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
}

func write(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestContainersScenario is upstream's "containers" acceptance scenario
// with echo, fileset and an external module instead of database servers,
// driven through the dysnomia-containers options, plus the deployment
// lifecycle: no-op redeploy, removal, garbage collection.
func TestContainersScenario(t *testing.T) {
	m := newMachine(t)
	if d := cmp.Diff([]string{"echo", "fileset", "rec"}, m.lines(t, "--query-containers")); d != "" {
		t.Errorf("--query-containers (-want +got):\n%s", d)
	}
	avail := []string{"echo/hello", "fileset/web", "rec/x"}
	if d := cmp.Diff(avail, m.lines(t, "--query-available-components")); d != "" {
		t.Errorf("--query-available-components (-want +got):\n%s", d)
	}
	if got := m.lines(t, "--query-activated-components"); got != nil {
		t.Errorf("activated before --deploy: %q", got)
	}

	// Deploy from empty: the modules get the real store paths.
	r := MustRun(t, m.env, "dysnomia-containers", "--deploy")
	if d := cmp.Diff(avail, m.lines(t, "--query-activated-components")); d != "" {
		t.Errorf("activated after --deploy (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"activate " + m.x + " rec"}, m.calls(t)); d != "" {
		t.Errorf("external module calls (-want +got):\n%s", d)
	}
	if !strings.Contains(r.Stdout, "Echo module: Activate service: "+m.hello+"\n") {
		t.Errorf("echo not activated with its store path:\n%s", r.Stdout)
	}
	if _, err := os.Stat(filepath.Join(m.target, "bin", "showfiles")); err != nil {
		t.Errorf("fileset not activated: %v", err)
	}

	// Deploy again: nothing runs.
	r = MustRun(t, m.env, "dysnomia-containers", "--deploy")
	if calls := m.calls(t); calls != nil {
		t.Errorf("no-op deploy ran the external module: %q", calls)
	}
	if r.Stdout != "" || !strings.Contains(r.Stderr, "nothing to deploy: 3 components up to date") {
		t.Errorf("no-op deploy: stdout %q, stderr %q", r.Stdout, r.Stderr)
	}

	// -o OP runs on every activated component, with the real path.
	r = MustRun(t, m.env, "dysnomia-containers", "-o", "lock")
	if d := cmp.Diff([]string{"lock " + m.x + " rec"}, m.calls(t)); d != "" {
		t.Errorf("-o lock calls (-want +got):\n%s", d)
	}
	if !strings.Contains(r.Stdout, "Echo module: Lock service: "+m.hello) {
		t.Errorf("-o lock did not reach echo:\n%s", r.Stdout)
	}

	// Snapshot everything, change the state, restore everything.
	data := filepath.Join(m.target, "files")
	write(t, filepath.Join(data, "hello"), "Hello world\n", 0o644)
	MustRun(t, m.env, "dysnomia-containers", "--snapshot")
	if d := cmp.Diff([]string{"snapshot " + m.x + " rec"}, m.calls(t)); d != "" {
		t.Errorf("--snapshot calls (-want +got):\n%s", d)
	}
	gens, err := os.ReadDir(filepath.Join(m.state, "generations", "fileset", "web"))
	if err != nil || len(gens) != 1 {
		t.Fatalf("fileset snapshot generations: %v, %v", gens, err)
	}
	write(t, filepath.Join(data, "bye"), "Bye world\n", 0o644)
	os.Remove(filepath.Join(data, "hello"))

	r = Run(t, m.env, "dysnomia-containers", "--restore")
	if r.Code != 1 || !strings.Contains(r.Stderr, "pass --yes") {
		t.Errorf("--restore without -y and without a terminal: exit %d, %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "bye")); err != nil {
		t.Errorf("a refused restore changed the state: %v", err)
	}
	MustRun(t, m.env, "dysnomia-containers", "--restore", "-y")
	if got := listDir(t, data); !cmp.Equal(got, []string{"hello"}) {
		t.Errorf("after --restore -y the fileset holds %q, want [hello]", got)
	}
	if d := cmp.Diff([]string{"restore " + m.x + " rec"}, m.calls(t)); d != "" {
		t.Errorf("--restore calls (-want +got):\n%s", d)
	}

	// Remove two components: deactivated, marked garbage, state kept.
	for _, c := range []string{"fileset/web", "rec/x"} {
		if err := os.Remove(filepath.Join(m.components, c)); err != nil {
			t.Fatal(err)
		}
	}
	r = MustRun(t, m.env, "dysnomia-containers", "--deploy")
	if d := cmp.Diff([]string{"deactivate " + m.x + " rec"}, m.calls(t)); d != "" {
		t.Errorf("deactivation calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"echo/hello"}, m.lines(t, "--query-activated-components")); d != "" {
		t.Errorf("activated after removal (-want +got):\n%s", d)
	}
	if got := listDir(t, filepath.Join(m.state, "garbage", "fileset")); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("garbage/fileset = %q", got)
	}
	if got := listDir(t, filepath.Join(m.state, "garbage", "rec")); !cmp.Equal(got, []string{"x"}) {
		t.Errorf("garbage/rec = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(m.target, "bin")); !os.IsNotExist(err) {
		t.Errorf("fileset link not removed: %v", err)
	}
	if got := listDir(t, data); !cmp.Equal(got, []string{"hello"}) {
		t.Errorf("deactivation changed the state: %q", got)
	}

	// Collect garbage: the modules get the real paths, the state and the
	// markers go.
	r = MustRun(t, m.env, "dysnomia-containers", "--collect-garbage")
	if d := cmp.Diff([]string{"collect-garbage " + m.x + " rec"}, m.calls(t)); d != "" {
		t.Errorf("collect-garbage calls (-want +got):\n%s", d)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("fileset state not collected: %v", err)
	}
	if got := listDir(t, filepath.Join(m.state, "garbage", "fileset")); got != nil {
		t.Errorf("garbage markers left: %q", got)
	}
	r = MustRun(t, m.env, "dysnomia-containers", "--collect-garbage")
	if !strings.Contains(r.Stderr, "no garbage to collect") {
		t.Errorf("second collect-garbage: %s", r.Stderr)
	}
}

// TestContainersRestorePrompt answers the confirmation on a real terminal
// (script(1) gives the command a pseudo-terminal).
func TestContainersRestorePrompt(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("script(1) is required under CI (Debian package bsdutils): %v", err)
		}
		t.Skip("script(1) not installed (Debian package bsdutils)")
	}
	m := newMachine(t)
	MustRun(t, m.env, "dysnomia-containers", "--deploy", "-C", "rec")
	m.calls(t)
	for _, tc := range []struct {
		answer string
		calls  []string
	}{
		{"n\n", nil},
		{"\n", nil},
		{"y\n", []string{"restore " + m.x + " rec"}},
	} {
		cmd := exec.Command(script, "-qec", filepath.Join(filepath.Dir(bin), "dysnomia-containers")+" --restore", "/dev/null")
		cmd.Env = withPath(m.env)
		cmd.Stdin = strings.NewReader(tc.answer)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("answer %q: %v\n%s", tc.answer, err, out.String())
		}
		if !strings.Contains(out.String(), "Are you sure you want to proceed? [n] ") || !strings.Contains(out.String(), "  rec/x\r\n") {
			t.Errorf("answer %q: no prompt listing rec/x:\n%s", tc.answer, out.String())
		}
		if d := cmp.Diff(tc.calls, m.calls(t)); d != "" {
			t.Errorf("answer %q: calls (-want +got):\n%s", tc.answer, d)
		}
	}
}

// TestContainersGenerateExpr evaluates the expression with the real Nix
// evaluator: the properties, with upstream's mem="$(grep MemTotal …)"
// evaluated (the file is root's, or the test user's) or kept literally on
// request, and the containers come back as written. A file someone else
// owns is refused: exit 1 and nothing on standard output, which Disnix
// writes to a file.
func TestContainersGenerateExpr(t *testing.T) {
	m := newMachine(t)
	want := map[string]any{
		"properties": map[string]any{
			"hostname":       "machine",
			"mem":            memTotal(t),
			"supportedTypes": []any{"echo", "fileset", "recorder"},
			"system":         "x86_64-linux",
		},
		"containers": map[string]any{
			"echo":    map[string]any{"greeting": "hello world"},
			"fileset": map[string]any{},
			"rec":     map[string]any{"log": m.log},
		},
		"system": "x86_64-linux",
	}
	r := MustRun(t, m.env, "dysnomia-containers", "--generate-expr")
	if !strings.HasSuffix(r.Stdout, "}\n") {
		t.Errorf("no trailing newline: %q", r.Stdout)
	}
	if d := cmp.Diff(any(want), evalNix(t, r.Stdout)); d != "" {
		t.Errorf("evaluated expression (-want +got):\n%s", d)
	}

	r = MustRun(t, append(m.env, "DYSNOMIA_SHELL_VALUES=literal"), "dysnomia-containers", "--generate-expr")
	want["properties"].(map[string]any)["mem"] = "$(grep 'MemTotal:' /proc/meminfo | sed -e 's/kB//' -e 's/MemTotal://' -e 's/ //g')"
	if d := cmp.Diff(any(want), evalNix(t, r.Stdout)); d != "" {
		t.Errorf("evaluated expression, literal (-want +got):\n%s", d)
	}

	nobody.Chown(t, m.props)
	r = Run(t, m.env, "dysnomia-containers", "--generate-expr")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, m.props+":2: the value of \"mem\" needs shell evaluation") || !strings.Contains(r.Stderr, "--shell-values=eval") {
		t.Errorf("nobody's properties file: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = MustRun(t, m.env, "dysnomia-containers", "--generate-expr", "--shell-values=literal")
	if d := cmp.Diff(any(want), evalNix(t, r.Stdout)); d != "" {
		t.Errorf("evaluated expression, literal (-want +got):\n%s", d)
	}
}

// evalNix evaluates a Nix expression with the real nix-instantiate.
func evalNix(t *testing.T, expr string) any {
	t.Helper()
	nix, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nix-instantiate is required under CI (Debian package nix-bin): %v", err)
		}
		t.Skipf("nix-instantiate not installed: %v", err)
	}
	file := filepath.Join(t.TempDir(), "machine.nix")
	write(t, file, expr, 0o644)
	out, err := exec.Command(nix, "--eval", "--strict", "--json", file).Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, expr)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// memTotal is what upstream's mem line evaluates to on this machine.
func memTotal(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			return strings.ReplaceAll(strings.ReplaceAll(v, "kB", ""), " ", "")
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return ""
}

// TestContainersGenerateDot renders the graph with the real dot.
func TestContainersGenerateDot(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dot is required under CI (Debian package graphviz): %v", err)
		}
		t.Skipf("dot not installed: %v", err)
	}
	m := newMachine(t)
	r := MustRun(t, m.env, "dysnomia-containers", "--generate-dot")
	png := filepath.Join(t.TempDir(), "g.png")
	cmd := exec.Command(dot, "-Tpng", "-o", png)
	cmd.Stdin = strings.NewReader(r.Stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dot -Tpng: %v\n%s\n%s", err, out, r.Stdout)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Errorf("no image: %v", err)
	}
	for _, n := range []string{`"echo/hello" [ label = "hello" ]`, `"fileset/web" [ label = "web" ]`, `"rec/x" [ label = "x" ]`} {
		if !strings.Contains(r.Stdout, n) {
			t.Errorf("graph lacks %s:\n%s", n, r.Stdout)
		}
	}
}
