// Package proctest helps the tests of the process and service modules: a
// real test daemon (the test binary itself, re-executed), the check that a
// required program or root is there (a failure under CI=true, a skip
// otherwise), and free TCP ports.
package proctest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require fails the test under CI=true, and skips it otherwise, when err is
// not nil.
func Require(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is required under CI=true: %v", what, err)
	}
	tb.Skipf("%s not available: %v", what, err)
}

// LookPath returns the path of a program the test needs (see Require).
func LookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if _, e := os.Stat(dir + "/" + name); e == nil {
				return dir + "/" + name
			}
		}
	}
	Require(tb, name, err)
	return p
}

// RequireRoot needs the test to run as root (see Require).
func RequireRoot(tb testing.TB) {
	tb.Helper()
	var err error
	if os.Geteuid() != 0 {
		err = fmt.Errorf("running as uid %d", os.Geteuid())
	}
	Require(tb, "root", err)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ShellQuote quotes s for a test's own /bin/sh script.
func ShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Env returns the environment for a module request in a test: PATH (with
// the system directories the account tools live in) and nothing else.
func Env() []string {
	path := os.Getenv("PATH")
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if !strings.Contains(":"+path+":", ":"+d+":") {
			path += ":" + d
		}
	}
	return []string{"PATH=" + path}
}
