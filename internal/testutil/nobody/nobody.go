// Package nobody gives tests an unprivileged owner for files: the system
// user "nobody", which exists on every Debian and NixOS machine. Giving a
// file away needs root; tests run as root here and in CI.
package nobody

import (
	"os"
	"os/user"
	"strconv"
	"testing"
)

// IDs returns nobody's uid and gid. Without root (or without the user) it
// skips the test, or fails it when the environment variable CI is "true".
func IDs(tb testing.TB) (uid, gid int) {
	tb.Helper()
	fail := tb.Skipf
	if os.Getenv("CI") == "true" {
		fail = tb.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("giving files to nobody needs root")
		return -1, -1
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		fail("no user nobody: %v", err)
		return -1, -1
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		fail("user nobody has ids %q:%q", u.Uid, u.Gid)
		return -1, -1
	}
	return uid, gid
}

// Chown gives path (not following a symlink) to nobody.
func Chown(tb testing.TB, path string) {
	tb.Helper()
	uid, gid := IDs(tb)
	if err := os.Lchown(path, uid, gid); err != nil {
		tb.Fatal(err)
	}
}
