package remote

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQuoteThroughShell(t *testing.T) {
	words := []string{"plain", "", "two words", "it's", `"dq"`, "$HOME", "`id`", "$(id)", "a;b", "a|b", "*", "~", "=cmd", "-x", "new\nline", "tab\there", `back\slash`, "ünï", "#c", "a&b", "!x", "{a,b}"}
	for _, w := range words {
		out, err := exec.Command("sh", "-c", "printf '%s' "+Quote(w)).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", Quote(w), err)
		}
		if string(out) != w {
			t.Errorf("Quote(%q) = %s, which the shell reads as %q", w, Quote(w), out)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"ssh", []string{"ssh"}},
		{"  ssh  -F /etc/cfg\t-p 2222\n", []string{"ssh", "-F", "/etc/cfg", "-p", "2222"}},
		{`ssh -o "A B"`, []string{"ssh", "-o", `"A`, `B"`}}, // no quote handling, by definition
		{"ssh $HOME", []string{"ssh", "$HOME"}},
	} {
		got, err := SplitCommand(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("SplitCommand(%q) (-want +got):\n%s", tc.in, d)
		}
	}
	if _, err := SplitCommand(" \t"); err == nil {
		t.Error("an empty ssh command was accepted")
	}
}

func TestArgv(t *testing.T) {
	c := &Client{SSH: []string{"ssh", "-F", "cfg"}, Host: "db2", Dysnomia: "/opt/my dysnomia"}
	got := c.Argv("snapshots", "print-missing", "a/b/c", "x y")
	want := []string{"ssh", "-F", "cfg", "db2", "--", "'/opt/my dysnomia'", "snapshots", "print-missing", "a/b/c", "'x y'"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Argv (-want +got):\n%s", d)
	}
}

func TestCheckHost(t *testing.T) {
	for _, h := range []string{"", "-oProxyCommand=x", "a b"} {
		if CheckHost(h) == nil {
			t.Errorf("host %q accepted", h)
		}
	}
	for _, h := range []string{"db2", "root@db2", "[::1]", "user@10.0.0.2"} {
		if err := CheckHost(h); err != nil {
			t.Errorf("host %q: %v", h, err)
		}
	}
}

// TestRemoteWordsArrive runs a remote command through the ssh stand-in:
// every word arrives as one argument, unexpanded.
func TestRemoteWordsArrive(t *testing.T) {
	dir := t.TempDir()
	prog := writeScript(t, filepath.Join(dir, "my dysnomia"), `for a; do printf '[%s]\n' "$a"; done`)
	c := &Client{SSH: fakeSSH, Host: "db2", Dysnomia: prog}
	args := []string{"a b", "$HOME", "it's", "*", ""}
	out, err := c.Run(context.Background(), nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	want := "[a b]\n[$HOME]\n[it's]\n[*]\n[]\n"
	if string(out) != want {
		t.Errorf("remote got\n%s\nwant\n%s", out, want)
	}
}

func TestRemoteErrors(t *testing.T) {
	dir := t.TempDir()
	failing := writeScript(t, filepath.Join(dir, "failing"), `echo "dysnomia: error: restore app: no such database" >&2; exit 1`)
	ssh255 := []string{"sh", "-c", `echo "ssh: connect to host db2 port 22: Connection refused" >&2; exit 255`, "fakessh"}
	for _, tc := range []struct {
		name   string
		client Client
		want   []string
		conn   bool
	}{
		{"not found", Client{SSH: fakeSSH, Host: "db2", Dysnomia: filepath.Join(dir, "missing")}, []string{"on db2:", "not found there (exit 127)", "--remote-dysnomia"}, false},
		{"fails", Client{SSH: fakeSSH, Host: "db2", Dysnomia: failing}, []string{"on db2: dysnomia version: exit status 1: restore app: no such database"}, false},
		{"connection", Client{SSH: ssh255, Host: "db2"}, []string{"ssh failed (exit 255", "Connection refused"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.Run(context.Background(), nil, "version")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var re *Error
			if !errors.As(err, &re) || re.Connection() != tc.conn {
				t.Errorf("error %v: want a *Error with Connection() %v", err, tc.conn)
			}
		})
	}
}
