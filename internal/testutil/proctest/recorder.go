package proctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Recorder writes, in a new directory, a program name that appends its
// arguments as one line to a log and exits 0, or exits 1 when its
// arguments contain failOn (if not ""). It stands in for a program that
// needs an engine this machine lacks (systemd as PID 1, a Docker daemon);
// tests that use it only check which calls a module makes, and a NixOS VM
// test checks the module against the real program.
func Recorder(tb testing.TB, name, failOn string) (dir, log string) {
	tb.Helper()
	dir = tb.TempDir()
	log = filepath.Join(dir, name+".log")
	script := "#!/bin/sh\necho \"$*\" >> " + ShellQuote(log) + "\n"
	if failOn != "" {
		script += "case \" $* \" in *" + ShellQuote(failOn) + "*) echo \"" + name + ": refusing $*\" >&2; exit 1 ;; esac\n"
	}
	script += "exit 0\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir, log
}

// Calls reads a Recorder's log and empties it.
func Calls(tb testing.TB, log string) []string {
	tb.Helper()
	data, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	os.Remove(log)
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
