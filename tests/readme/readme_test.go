// Package readme checks the examples of the README, so that what it tells a
// user to type keeps working. Every ```sh and ```nix block carries a marker
// on the line before it, saying how it is checked:
//
//	<!-- test: run -->    run here, in README order, in one sandbox that
//	                      stands in for a machine (below);
//	<!-- test: build -->  run in a copy of the module's sources;
//	<!-- test: ci -->     .ci/run runs each of its lines verbatim;
//	<!-- test: setup -->  its apt-get line installs what .ci/run installs;
//	<!-- test: nix -->    parsed by nix-instantiate, and every option it sets
//	                      under services.dysnomia is declared by the module.
//
// The sandbox of the run blocks is a machine as the NixOS module leaves it:
// a PostgreSQL server (a throwaway one, on a Unix socket), the container
// postgresql-database and the component app declared in an etc directory
// that stands for /etc/dysnomia (the blocks' /etc/dysnomia is rewritten to
// it), the component activated, and DYSNOMIA_* set as the module sets them.
// An `ssh HOST [--] CMD` shim runs CMD on the same server with a state
// directory of HOST's own, the other machine of the push and move example.
package readme

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

// root is the repository root, two levels up from this package.
const root = "../.."

// block is one fenced code block of the README.
type block struct {
	marker  string // what the <!-- test: … --> line before it says; "" if none
	lang    string // the fence's info string
	text    string // the content, without the fences
	line    int    // line number of the opening fence
	section string // the nearest heading above it
}

var markerRE = regexp.MustCompile(`^<!-- test: ([a-z]+) -->$`)

func readmeBlocks(t *testing.T) []block {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks  []block
		cur     *block
		body    []string
		prev    string
		section string
	)
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &block{lang: strings.TrimPrefix(l, "```"), line: i + 1, section: section}
			if m := markerRE.FindStringSubmatch(prev); m != nil {
				cur.marker = m[1]
			}
			body = nil
		case cur != nil && l == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body = append(body, l)
		case strings.HasPrefix(l, "#"):
			section = strings.TrimSpace(strings.TrimLeft(l, "#"))
		}
		prev = l
	}
	if cur != nil {
		t.Fatalf("README.md:%d: code block never closed", cur.line)
	}
	return blocks
}

func byMarker(t *testing.T, marker string) []block {
	var out []block
	for _, b := range readmeBlocks(t) {
		if b.marker == marker {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no block marked %q", marker)
	}
	return out
}

// commandLines are a block's lines without comments and blank lines, with
// backslash continuations joined.
func commandLines(text string) []string {
	var out []string
	pending := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if pending == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			pending += s
			continue
		}
		out = append(out, pending+l)
		pending = ""
	}
	return out
}

func TestEveryExampleIsChecked(t *testing.T) {
	known := []string{"run", "build", "ci", "setup", "nix"}
	for _, b := range readmeBlocks(t) {
		if b.lang != "sh" && b.lang != "nix" {
			continue
		}
		if !slices.Contains(known, b.marker) {
			t.Errorf("README.md:%d (%s): %s block without a <!-- test: %s --> marker on the line before it",
				b.line, b.section, b.lang, strings.Join(known, "|"))
		}
	}
}

func readCIRun(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCIRunsTheBlocks(t *testing.T) {
	ci := strings.Split(readCIRun(t), "\n")
	for _, b := range byMarker(t, "ci") {
		for _, cmd := range commandLines(b.text) {
			found := slices.ContainsFunc(ci, func(l string) bool {
				return l == cmd || strings.HasPrefix(l, cmd+" ")
			})
			if !found {
				t.Errorf("README.md:%d (%s): .ci/run has no line running %q", b.line, b.section, cmd)
			}
		}
	}
}

func TestSetUpInstallsWhatCIInstalls(t *testing.T) {
	m := regexp.MustCompile(`(?m)^apt_packages=\(([^)]*)\)`).FindStringSubmatch(readCIRun(t))
	if m == nil {
		t.Fatal(".ci/run has no apt_packages=(…) line")
	}
	ci := strings.Fields(m[1])
	for _, b := range byMarker(t, "setup") {
		var readme []string
		lines := commandLines(b.text)
		if len(lines) == 0 || lines[0] != "apt-get update" {
			t.Errorf("README.md:%d: the setup block must start with apt-get update (a fresh machine has no package lists)", b.line)
		} else {
			lines = lines[1:]
		}
		for _, cmd := range lines {
			f := strings.Fields(cmd)
			if len(f) < 2 || f[0] != "apt-get" || f[1] != "install" {
				t.Fatalf("README.md:%d: setup block line %q is not an apt-get install", b.line, cmd)
			}
			for _, w := range f[2:] {
				if !strings.HasPrefix(w, "-") {
					readme = append(readme, w)
				}
			}
		}
		slices.Sort(readme)
		want := slices.Sorted(slices.Values(ci))
		if diff := cmp.Diff(want, readme); diff != "" {
			t.Errorf("README.md:%d: packages differ from .ci/run's (-ci +readme):\n%s", b.line, diff)
		}
	}
}

// lhsRE matches the attribute path being set on a line of Nix.
var lhsRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_'.-]*)\s*=\s*(.*)$`)

func TestNixExamples(t *testing.T) {
	nixInstantiate := requireTool(t, "nix-instantiate")
	module, err := os.ReadFile(filepath.Join(root, "nixos-module", "default.nix"))
	if err != nil {
		t.Fatal(err)
	}
	declared := func(name string) bool {
		return regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*=\s*(mkOption|lib\.mkOption|lib\.mkEnableOption|mkEnableOption)\b`).Match(module)
	}
	for _, b := range byMarker(t, "nix") {
		cmd := exec.Command(nixInstantiate, "--parse", "-E", b.text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README.md:%d: nix-instantiate --parse: %v\n%s", b.line, err, out)
		}

		// The options set inside `services.dysnomia = { … };`.
		var inside bool
		depth, checked := 0, 0
		for i, l := range strings.Split(b.text, "\n") {
			if !inside {
				inside = strings.Contains(l, "services.dysnomia = {")
				depth = strings.Count(l, "{") - strings.Count(l, "}")
				continue
			}
			if m := lhsRE.FindStringSubmatch(l); m != nil {
				path := strings.Split(m[1], ".")
				opts := path[len(path)-1:]
				if strings.HasPrefix(m[2], "{") {
					// A set of options or of names (containers, components):
					// its first segment is an option.
					opts = path[:1]
				}
				for _, o := range opts {
					checked++
					if !declared(o) {
						t.Errorf("README.md:%d: services.dysnomia sets %q, which nixos-module/default.nix does not declare", b.line+1+i, o)
					}
				}
			}
			depth += strings.Count(l, "{") - strings.Count(l, "}")
			if depth <= 0 {
				inside = false
			}
		}
		if checked == 0 {
			t.Errorf("README.md:%d: found no services.dysnomia options to check", b.line)
		}
	}
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

func TestBuildBlock(t *testing.T) {
	goTool := requireTool(t, "go")
	src := t.TempDir()
	for _, p := range []string{"go.mod", "go.sum", "cmd", "internal"} {
		if out, err := exec.Command("cp", "-R", filepath.Join(root, p), src).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}
	for _, b := range byMarker(t, "build") {
		// The test's own environment (module cache, proxy settings), with
		// the go command on PATH.
		env := append(os.Environ(), "PATH="+filepath.Dir(goTool)+":"+os.Getenv("PATH"))
		runBlock(t, b, src, env)
		// The links answer to the upstream tools' flags.
		empty := t.TempDir()
		for _, args := range [][]string{{"dysnomia-snapshots", "--query-all"}, {"dysnomia-containers", "--query-containers"}} {
			cmd := exec.Command(filepath.Join(src, args[0]), args[1:]...)
			cmd.Env = []string{"DYSNOMIA_STATEDIR=" + empty, "DYSNOMIA_CONTAINERS_PATH=" + empty}
			if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
				t.Errorf("README.md:%d: %v on empty directories: %v, output %q; want success and no output", b.line, args, err, out)
			}
		}
	}
}

// runBlock runs a block with bash -euo pipefail in dir with exactly env,
// and returns its standard output.
func runBlock(t *testing.T, b block, dir string, env []string) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.text)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("README.md:%d (%s): %v\n--- block:\n%s--- stdout:\n%s--- stderr:\n%s", b.line, b.section, err, b.text, out.String(), errb.String())
	}
	return out.String()
}

// machine is the sandbox of the run blocks.
type machine struct {
	srv             *pgtest.Server
	dir, etc, state string
	env             []string
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	srv := pgtest.StartNew(t, pgtest.Options{})
	dir := t.TempDir()
	m := &machine{srv: srv, dir: dir, etc: filepath.Join(dir, "etc", "dysnomia"), state: filepath.Join(dir, "state")}

	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "dysnomia"), "github.com/dysnomia-go/dysnomia/cmd/dysnomia")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build dysnomia: %v\n%s", err, out)
	}
	for _, alias := range []string{"dysnomia-snapshots", "dysnomia-containers"} {
		must(t, os.Symlink("dysnomia", filepath.Join(bin, alias)))
	}
	// ssh HOST [--] CMD…: CMD runs here, with HOST's own state directory.
	writeFile(t, filepath.Join(bin, "ssh"), 0o755, `#!/bin/sh
host=$1; shift
[ "$1" = -- ] && shift
export DYSNOMIA_STATEDIR="`+dir+`/hosts/$host/state"
exec sh -c "$*"
`)

	var container strings.Builder
	for _, kv := range srv.PropertyEnv() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&container, "%s=%q\n", k, v)
	}
	container.WriteString("type=postgresql-database\n")
	writeFile(t, filepath.Join(m.etc, "containers", "postgresql-database"), 0o644, container.String())
	comp := filepath.Join(dir, "store", "app")
	writeFile(t, filepath.Join(comp, "postgresql-databases", "schema.sql"), 0o644,
		"create table notes (body text not null);\ninsert into notes values ('declared');\n")
	must(t, os.MkdirAll(filepath.Join(m.etc, "components", "postgresql-database"), 0o755))
	must(t, os.Symlink(comp, filepath.Join(m.etc, "components", "postgresql-database", "app")))

	m.env = append([]string{
		"PATH=" + bin + ":" + os.Getenv("PATH"),
		"HOME=" + dir,
		"DYSNOMIA_STATEDIR=" + m.state,
		"DYSNOMIA_CONTAINERS_PATH=" + filepath.Join(m.etc, "containers"),
		"DYSNOMIA_COMPONENTS_PATH=" + filepath.Join(m.etc, "components"),
	}, srv.PropertyEnv()...) // as Disnix passes them to --environment
	m.sh(t, "dysnomia activate --container postgresql-database --component app")
	return m
}

// sh runs a command line of the test's own on the machine.
func (m *machine) sh(t *testing.T, script string) string {
	t.Helper()
	return runBlock(t, block{text: script, section: "sandbox"}, m.dir, m.env)
}

// notes is the content of the app database's table.
func (m *machine) notes(t *testing.T) []string {
	t.Helper()
	return strings.Fields(m.srv.Psql(t, "app", "select string_agg(body, ' ' order by body) from notes"))
}

func (m *machine) generations(t *testing.T, stateDir string) []string {
	t.Helper()
	return strings.Fields(m.sh(t, "DYSNOMIA_STATEDIR="+stateDir+" dysnomia snapshots list --container postgresql-database --component app"))
}

// TestRunBlocks runs the run blocks in README order, each with what the
// test knows of its section checked before and after.
func TestRunBlocks(t *testing.T) {
	m := newMachine(t)
	type check struct {
		before func(t *testing.T) // nil: nothing to prepare
		// nil: the block runs whole; else its first paragraph runs, then
		// this, then the rest of the block.
		afterFirst func(t *testing.T)
		after      func(t *testing.T, out string)
	}
	checks := map[string]check{
		// The block's first paragraph takes a snapshot; the test then writes
		// a row and snapshots again (the rest of the block restores the
		// latest, then the first generation, then keeps one).
		"Listing and restoring snapshots": {
			afterFirst: func(t *testing.T) {
				m.srv.Psql(t, "app", "insert into notes values ('broken')")
				m.sh(t, "dysnomia snapshot --container postgresql-database --component app")
			},
			after: func(t *testing.T, out string) {
				if diff := cmp.Diff([]string{"declared"}, m.notes(t)); diff != "" {
					t.Errorf("app after the restore examples (-want +got):\n%s", diff)
				}
				if n := len(m.generations(t, m.state)); n != 1 {
					t.Errorf("generations after snapshots gc --keep 1 = %d, want 1", n)
				}
				if !regexp.MustCompile(`(?m)^postgresql-database/app/[0-9a-z]{52}$`).MatchString(out) {
					t.Errorf("snapshots list printed no generation:\n%s", out)
				}
			},
		},
		"Moving state to another machine": {
			before: func(t *testing.T) {
				m.srv.Psql(t, "app", "insert into notes values ('moved')")
			},
			after: func(t *testing.T, _ string) {
				here := m.generations(t, m.state)
				there := m.generations(t, filepath.Join(m.dir, "hosts", "db2", "state"))
				if len(there) == 0 || len(here) == 0 || there[len(there)-1] != here[len(here)-1] {
					t.Errorf("latest generation on db2 = %q, want this machine's %q", there, here)
				}
				m.sh(t, "DYSNOMIA_STATEDIR="+filepath.Join(m.dir, "hosts", "db2", "state")+" dysnomia snapshots check")
				if diff := cmp.Diff([]string{"declared", "moved"}, m.notes(t)); diff != "" {
					t.Errorf("app after the restore on db2 (-want +got):\n%s", diff)
				}
			},
		},
		"With Disnix": {
			before: func(t *testing.T) {
				m.srv.Psql(t, "app", "insert into notes values ('kept')")
			},
			after: func(t *testing.T, _ string) {
				// activate of an existing database keeps its data.
				if diff := cmp.Diff([]string{"declared", "kept", "moved"}, m.notes(t)); diff != "" {
					t.Errorf("app after the Disnix activate (-want +got):\n%s", diff)
				}
			},
		},
	}

	var ran []string
	for _, b := range byMarker(t, "run") {
		c, ok := checks[b.section]
		if !ok {
			t.Fatalf("README.md:%d: run block in section %q, which this test has no checks for", b.line, b.section)
		}
		text := strings.ReplaceAll(b.text, "/etc/dysnomia/", m.etc+"/")
		if c.before != nil {
			c.before(t)
		}
		if c.afterFirst != nil {
			first, rest, ok := strings.Cut(text, "\n\n")
			if !ok {
				t.Fatalf("README.md:%d: block has one paragraph; the test expects more", b.line)
			}
			m.sh(t, first)
			c.afterFirst(t)
			text = rest
		}
		out := runBlock(t, block{text: text, line: b.line, section: b.section}, m.dir, m.env)
		c.after(t, out)
		ran = append(ran, b.section)
	}
	want := []string{"Listing and restoring snapshots", "Moving state to another machine", "With Disnix"}
	if diff := cmp.Diff(want, ran); diff != "" {
		t.Errorf("run blocks by section (-want +got):\n%s", diff)
	}
}

func writeFile(t *testing.T, path string, mode os.FileMode, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), mode))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
