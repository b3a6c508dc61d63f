package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/nobody"
)

// upstreamProperties is a properties file as upstream's NixOS module and
// tests write it (printProperties: sorted keys, k="v", k=("e" )), and as
// its README writes mem, unquoted.
const upstreamProperties = `hostname="machine"
mem="$(grep 'MemTotal:' /proc/meminfo | sed -e 's/kB//' -e 's/MemTotal://' -e 's/ //g')"
memReadme=$(grep 'MemTotal:' /proc/meminfo | sed -e 's/kB//' -e 's/MemTotal://' -e 's/ //g')
supportedTypes=("echo" "fileset" "process" )
system="x86_64-linux"
`

// memTotal is what the mem line evaluates to.
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

// trustDir is a fresh directory whose chain up to / passes the rule (in CI,
// as root: the temporary directory and /tmp, sticky, are root's).
func trustDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	must(t, os.WriteFile(probe, nil, 0o644))
	if _, _, err := Trusted(probe); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the temporary directory fails the rule itself: %v", err)
		}
		t.Skipf("the temporary directory fails the rule itself: %v", err)
	}
	must(t, os.Remove(probe))
	return dir
}

func TestTrustedEvaluatesUpstreamProperties(t *testing.T) {
	dir := trustDir(t)
	p := filepath.Join(dir, "properties")
	if err := os.WriteFile(p, []byte(upstreamProperties), 0o644); err != nil {
		t.Fatal(err)
	}
	props, err := ParseFile(p, ShellTrusted)
	if err != nil {
		t.Fatal(err)
	}
	mem := memTotal(t)
	want := Properties{
		{Key: "hostname", Values: []string{"machine"}},
		{Key: "mem", Values: []string{mem}},
		{Key: "memReadme", Values: []string{mem}},
		{Key: "supportedTypes", Values: []string{"echo", "fileset", "process"}, List: true},
		{Key: "system", Values: []string{"x86_64-linux"}},
	}
	if d := cmp.Diff(want, props); d != "" {
		t.Errorf("properties (-want +got):\n%s", d)
	}
}

// TestTrustedWorkingDirectory: values are evaluated in the file's own
// (checked) directory, not in the caller's.
func TestTrustedWorkingDirectory(t *testing.T) {
	dir := trustDir(t)
	p := filepath.Join(dir, "properties")
	if err := os.WriteFile(p, []byte("here=\"$(pwd -P)\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	props, err := ParseFile(p, ShellTrusted)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got := props.Lookup("here"); got != real {
		t.Errorf("evaluated in %q, want %q", got, real)
	}
}

// TestUntrustedIsRefused gives the file, or a directory above it, to an
// unprivileged user, or opens it to the group: nothing runs, and the error
// names the file, the line, what fails the rule and the flags.
func TestUntrustedIsRefused(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, dir, file string) string // returns the path that fails
		reason string
	}{
		{"file owned by nobody", func(t *testing.T, dir, file string) string {
			nobody.Chown(t, file)
			return file
		}, "belongs to uid "},
		{"directory owned by nobody", func(t *testing.T, dir, file string) string {
			sub := filepath.Dir(file)
			nobody.Chown(t, sub)
			return sub
		}, "belongs to uid "},
		{"file writable by its group", func(t *testing.T, dir, file string) string {
			must(t, os.Chmod(file, 0o664))
			return file
		}, "can be written by its group or by others (mode 0664)"},
		{"directory writable by others", func(t *testing.T, dir, file string) string {
			sub := filepath.Dir(file)
			must(t, os.Chmod(sub, 0o757))
			return sub
		}, "can be written by its group or by others (mode 0757)"},
		{"symlink into an untrusted directory", func(t *testing.T, dir, file string) string {
			other := filepath.Join(dir, "other")
			must(t, os.Mkdir(other, 0o755))
			nobody.Chown(t, other)
			real := filepath.Join(other, "properties")
			must(t, os.Rename(file, real))
			must(t, os.Symlink(real, file))
			return other
		}, "belongs to uid "},
		{"symlink in an untrusted directory", func(t *testing.T, dir, file string) string {
			real := filepath.Join(dir, "real-properties")
			must(t, os.Rename(file, real))
			sub := filepath.Dir(file)
			must(t, os.Symlink(real, file))
			nobody.Chown(t, sub)
			return sub
		}, "belongs to uid "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := trustDir(t)
			witness := filepath.Join(dir, "ran")
			file := filepath.Join(dir, "etc", "properties")
			must(t, os.MkdirAll(filepath.Dir(file), 0o755))
			must(t, os.WriteFile(file, []byte("hostname=\"machine\"\nmem=\"$(touch "+witness+")\"\n"), 0o644))
			bad := tc.setup(t, dir, file)
			_, err := ParseFile(file, ShellTrusted)
			if err == nil {
				t.Fatal("evaluated")
			}
			if _, serr := os.Stat(witness); serr == nil {
				t.Error("the shell code ran")
			}
			msg := err.Error()
			for _, want := range []string{
				file + ":2: the value of \"mem\" needs shell evaluation",
				tc.reason,
				"--shell-values=eval", "DYSNOMIA_SHELL_VALUES=eval", "--shell-values=literal",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			var te *TrustError
			if !errors.As(err, &te) || te.File != file || te.Path != bad {
				t.Errorf("TrustError for %s failing at %s: %v", file, bad, err)
			}
		})
	}
}

// TestStickyDirectory: a directory others can write to but with the
// sticky bit (as /nix/store: root:nixbld 1775) is safe for root's entries.
func TestStickyDirectory(t *testing.T) {
	dir := trustDir(t)
	store := filepath.Join(dir, "store")
	must(t, os.Mkdir(store, 0o755))
	must(t, os.Chmod(store, 0o775|os.ModeSticky))
	file := filepath.Join(store, "aaaa-properties")
	must(t, os.WriteFile(file, []byte("x=\"$(echo 1)\"\n"), 0o444))
	link := filepath.Join(dir, "properties")
	must(t, os.Symlink(file, link))
	props, err := ParseFile(link, ShellTrusted)
	if err != nil || props.Lookup("x") != "1" {
		t.Fatalf("sticky store: %v, %v", props, err)
	}
	// An entry someone else owns in it is not.
	nobody.Chown(t, file)
	if _, err := ParseFile(link, ShellTrusted); err == nil || !strings.Contains(err.Error(), "belongs to uid") {
		t.Errorf("nobody's file in a sticky directory: %v", err)
	}
}

// TestTrustedNoShellNeedsNoTrust: a file without shell values is read
// whoever owns it.
func TestTrustedNoShellNeedsNoTrust(t *testing.T) {
	dir := trustDir(t)
	file := filepath.Join(dir, "properties")
	must(t, os.WriteFile(file, []byte("hostname=\"machine\"\nmem='$(literal)'\n"), 0o666))
	must(t, os.Chmod(file, 0o666))
	props, err := ParseFile(file, ShellTrusted)
	if err != nil || props.Lookup("mem") != "$(literal)" {
		t.Errorf("%v, %v", props, err)
	}
}

// TestTrustWhom: the owners that pass depend on who evaluates. Root
// evaluates only root's files; an unprivileged user evaluates root's and
// his own.
func TestTrustWhom(t *testing.T) {
	uid, _ := nobody.IDs(t)
	dir := trustDir(t)
	rootFile := filepath.Join(dir, "root")
	userDir := filepath.Join(dir, "user")
	userFile := filepath.Join(userDir, "props")
	must(t, os.WriteFile(rootFile, nil, 0o644))
	must(t, os.Mkdir(userDir, 0o755))
	must(t, os.WriteFile(userFile, nil, 0o644))
	nobody.Chown(t, userDir)
	nobody.Chown(t, userFile)
	for _, tc := range []struct {
		euid int
		file string
		ok   bool
	}{
		{0, rootFile, true},
		{0, userFile, false},
		{uid, rootFile, true},
		{uid, userFile, true},
		{uid + 1, userFile, false},
	} {
		hops := 0
		_, _, err := walkTrusted(tc.file, tc.euid, &hops)
		if (err == nil) != tc.ok {
			t.Errorf("euid %d, %s: %v; want ok=%v", tc.euid, tc.file, err, tc.ok)
		}
	}
}

func TestParseShellModeTrusted(t *testing.T) {
	if m, err := ParseShellMode("trusted"); err != nil || m != ShellTrusted {
		t.Errorf("ParseShellMode(trusted) = %v, %v", m, err)
	}
	// Text not read from a file has nothing to check: refused.
	if _, err := Parse("text", []byte("x=\"$(echo 1)\"\n"), ShellTrusted); err == nil || !strings.Contains(err.Error(), "not read from a file") {
		t.Errorf("Parse with ShellTrusted: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
