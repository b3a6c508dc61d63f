package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRemoteCommandLine: the ssh command comes from --ssh, else
// DYSNOMIA_SSH, split at white space only; the remote words follow the
// host and "--", each quoted for the remote shell.
func TestRemoteCommandLine(t *testing.T) {
	s := newSnapStore(t)
	sn := s.commit(t, testdb, "one").Snapshot
	dir := t.TempDir()
	log := filepath.Join(dir, "argv")
	// A stand-in ssh that records its arguments, one per line, and fails
	// as ssh does when it cannot connect.
	fake := filepath.Join(dir, "fake ssh")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done > \"$(dirname \"$0\")/argv\"\necho 'ssh: connect to host db2: Connection refused' >&2\nexit 255\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "fakessh") // a name without a space, for --ssh
	os.Symlink(fake, link)
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want []string
	}{
		{"DYSNOMIA_SSH", link + "  -F  /etc/my\tconfig", nil, []string{"-F", "/etc/my", "config", "db2", "--", "dysnomia", "snapshots", "print-missing", sn.Rel()}},
		{"--ssh wins", link + " -F ignored", []string{"--ssh", link + " -p 2222", "--remote-dysnomia", "/opt/d ysnomia"}, []string{"-p", "2222", "db2", "--", "'/opt/d ysnomia'", "snapshots", "print-missing", sn.Rel()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(log)
			_, stderr, code := runCLI(t, "dysnomia", append(s.environ, "DYSNOMIA_SSH="+tc.env), append([]string{"snapshots", "push", "db2"}, tc.args...)...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			for _, w := range []string{"push to db2: ask which snapshots are missing: on db2:", "ssh failed (exit 255", "Connection refused"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")); d != "" {
				t.Errorf("ssh argv (-want +got):\n%s", d)
			}
		})
	}
	for _, args := range [][]string{
		{"snapshots", "push", "--", "-oProxyCommand=x"},
		{"snapshots", "pull", "--ssh", " ", "db2"},
		{"move", "-C", "c", "-c", "x", "--to", "a b"},
	} {
		if _, stderr, code := runCLI(t, "dysnomia", s.environ, args...); code == 0 || !strings.Contains(stderr, "error:") {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
}
