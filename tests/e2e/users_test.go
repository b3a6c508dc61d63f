package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccountTools runs the binary as dysnomia-addgroups, -addusers,
// -delusers and -delgroups on a component, as the process modules and
// Disnix's own scripts do, against the real account database.
func TestAccountTools(t *testing.T) {
	requireRootTools(t, "useradd", "groupadd", "userdel", "groupdel")
	b := make([]byte, 4)
	rand.Read(b)
	name := "dye" + hex.EncodeToString(b)
	t.Cleanup(func() {
		exec.Command("userdel", name).Run()
		exec.Command("groupdel", name).Run()
	})
	env, _ := StateEnv(t)
	env = append(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	comp := t.TempDir()
	write(t, filepath.Join(comp, "dysnomia-support", "groups", name), "", 0o644)
	write(t, filepath.Join(comp, "dysnomia-support", "users", name), "group="+name+"\ndescription=\"e2e user\"\n", 0o644)

	for i := 0; i < 2; i++ { // the second round finds everything in place
		MustRun(t, env, "dysnomia-addgroups", comp)
		MustRun(t, env, "dysnomia-addusers", comp)
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if g, err := user.LookupGroup(name); err != nil || g.Gid != u.Gid {
			t.Fatalf("round %d: group %v, %v; want the user's primary group", i, g, err)
		}
	}
	MustRun(t, env, "dysnomia-delusers", comp)
	MustRun(t, env, "dysnomia-delgroups", comp)
	if _, err := user.Lookup(name); err == nil {
		t.Fatal("user still exists after dysnomia-delusers")
	}
	if _, err := user.LookupGroup(name); err == nil {
		t.Fatal("group still exists after dysnomia-delgroups")
	}
	MustRun(t, env, "dysnomia", "users", "del", comp) // the modern spelling; idempotent

	r := Run(t, env, "dysnomia-addusers", filepath.Join(comp, "missing"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "missing is not valid") {
		t.Errorf("missing path: exit %d, stderr %q; want 1 and a message naming the path", r.Code, r.Stderr)
	}
}

// requireRootTools needs root and the given programs: a failure under
// CI=true, a skip otherwise.
func requireRootTools(t *testing.T, progs ...string) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root")
	}
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			if _, err := os.Stat("/usr/sbin/" + p); err != nil {
				skip("needs %s: %v", p, err)
			}
		}
	}
}
