package users

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// uniqueName returns a throwaway account name and removes the account and
// the group of that name when the test ends.
func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "dyt" + hex.EncodeToString(b)
	t.Cleanup(func() {
		exec.Command("userdel", name).Run()
		exec.Command("groupdel", name).Run()
	})
	return name
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newManager() *Manager {
	return &Manager{Env: proctest.Env(), Report: ui.Discard}
}

func requireTools(t *testing.T) {
	t.Helper()
	proctest.RequireRoot(t)
	for _, p := range []string{"useradd", "userdel", "groupadd", "groupdel", "chpasswd", "getent"} {
		proctest.LookPath(t, p)
	}
}

func userExists(name string) bool {
	_, err := user.Lookup(name)
	return err == nil
}

func groupExists(name string) bool {
	_, err := user.LookupGroup(name)
	return err == nil
}

// chownTo changes a file's owner to name:name, as upstream's scenario checks.
func chownTo(file, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	return os.Chown(file, uid, gid)
}

// TestUpstreamScenario is upstream's "users" test: a component with a group
// and a user with a home directory, and one that only creates a home
// directory.
func TestUpstreamScenario(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	m := newManager()
	name := uniqueName(t)
	root := t.TempDir()
	home := filepath.Join(root, "home", name)

	u := filepath.Join(root, "U")
	writeFile(t, filepath.Join(u, "dysnomia-support", "groups", name), "")
	writeFile(t, filepath.Join(u, "dysnomia-support", "users", name),
		"group="+name+"\ndescription=\"Unprivileged user\"\nhomeDir="+home+"\ncreateHomeDir=1\nshell=/bin/sh\n")
	h := filepath.Join(root, "H")
	writeFile(t, filepath.Join(h, "dysnomia-support", "users", name), "homeDir="+home+"\ncreateHomeDir=1\ncreateHomeDirOnly=1\n")
	file := filepath.Join(root, "file")
	writeFile(t, file, "x")

	add := func(path string) {
		t.Helper()
		if err := m.AddGroups(ctx, path); err != nil {
			t.Fatal(err)
		}
		if err := m.AddUsers(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
	del := func(path string) {
		t.Helper()
		if err := m.DelUsers(ctx, path); err != nil {
			t.Fatal(err)
		}
		if err := m.DelGroups(ctx, path); err != nil {
			t.Fatal(err)
		}
	}

	add(u)
	if err := chownTo(file, name); err != nil {
		t.Fatalf("chown after addusers: %v", err)
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		t.Fatalf("home directory %s: %v", home, err)
	}
	out, _ := exec.Command("getent", "passwd", name).Output()
	if f := strings.Split(strings.TrimSpace(string(out)), ":"); len(f) != 7 || f[4] != "Unprivileged user" || f[5] != home || f[6] != "/bin/sh" {
		t.Errorf("passwd entry = %q; want description, home and shell from the spec", out)
	}

	add(u) // idempotent
	if err := chownTo(file, name); err != nil {
		t.Fatalf("chown after the second addusers: %v", err)
	}

	del(u)
	if err := chownTo(file, name); err == nil {
		t.Fatal("chown works after delusers/delgroups")
	}
	if userExists(name) || groupExists(name) {
		t.Fatal("user or group still exists")
	}
	del(u) // idempotent
	if _, err := os.Stat(home); err != nil {
		t.Fatalf("delusers removed the home directory: %v", err)
	}

	if err := os.RemoveAll(filepath.Join(root, "home")); err != nil {
		t.Fatal(err)
	}
	add(h) // no groups dir: a no-op; the user spec only makes the home dir
	if _, err := os.Stat(home); err != nil {
		t.Fatalf("createHomeDirOnly: %v", err)
	}
	if userExists(name) {
		t.Fatal("createHomeDirOnly created a user")
	}
	del(h)

	add(u)
	del(u)
	if userExists(name) || groupExists(name) {
		t.Fatal("user or group still exists at the end")
	}
}

// TestSpecFileAndIDs passes a spec file directly, with ids and a password
// (which must reach /etc/shadow without a command line).
func TestSpecFileAndIDs(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	m := newManager()
	name := uniqueName(t)
	root := t.TempDir()
	gfile := filepath.Join(root, "groups", name)
	writeFile(t, gfile, "gid=47311\n")
	const hash = `$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDCy.g.`
	ufile := filepath.Join(root, "users", name)
	writeFile(t, ufile, "uid=47311\ngroup="+name+"\npassword='"+hash+"'\n")

	if err := m.AddGroups(ctx, gfile); err != nil {
		t.Fatal(err)
	}
	if err := m.AddUsers(ctx, ufile); err != nil {
		t.Fatal(err)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"47311", "47311", "47311"}, []string{u.Uid, u.Gid, g.Gid}); diff != "" {
		t.Errorf("uid, gid, group gid (-want +got):\n%s", diff)
	}
	shadow, err := os.ReadFile("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(shadow), name+":"+hash+":") {
		t.Errorf("/etc/shadow has no entry %s:<the spec's hash>", name)
	}

	// A gid that differs from the existing group's is a warning, not a change.
	writeFile(t, gfile, "gid=47312\n")
	var warned []string
	m.Report = reporter{warn: func(s string) { warned = append(warned, s) }}
	if err := m.AddGroups(ctx, gfile); err != nil {
		t.Fatal(err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "47311") {
		t.Errorf("warnings = %q; want one naming the kept gid 47311", warned)
	}
	if err := m.DelUsers(ctx, ufile); err != nil {
		t.Fatal(err)
	}
	if err := m.DelGroups(ctx, gfile); err != nil {
		t.Fatal(err)
	}
}

// TestBadSpecChangesNothing: a bad spec among good ones is an error naming
// the file, before any account is created.
func TestBadSpecChangesNothing(t *testing.T) {
	requireTools(t)
	m := newManager()
	good := uniqueName(t)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "dysnomia-support", "users", good), "")
	bad := filepath.Join(root, "dysnomia-support", "users", "zz"+good)
	writeFile(t, bad, "uid=notanumber\n")
	err := m.AddUsers(context.Background(), root)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "uid") {
		t.Fatalf("error = %v; want one naming %s and uid", err, bad)
	}
	if userExists(good) {
		t.Fatal("a user was created although a spec was bad")
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "dysnomia-support", "users", "b"), "createHomeDir=1\nhomeDir=/home/b\n")
	writeFile(t, filepath.Join(root, "dysnomia-support", "users", "a"), "# a comment\nshell=/bin/sh\nfoo=bar\n")
	writeFile(t, filepath.Join(root, "dysnomia-support", "users", ".hidden"), "")
	var warned []string
	us, err := LoadUsers(root, func(f string, args ...any) { warned = append(warned, f) })
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{File: filepath.Join(root, "dysnomia-support", "users", "a"), Name: "a", Shell: "/bin/sh"},
		{File: filepath.Join(root, "dysnomia-support", "users", "b"), Name: "b", HomeDir: "/home/b", CreateHomeDir: true},
	}
	if diff := cmp.Diff(want, us); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if len(warned) != 1 {
		t.Errorf("warnings = %d; want 1 (unknown key foo)", len(warned))
	}
	gs, err := LoadGroups(root, func(string, ...any) {})
	if err != nil || len(gs) != 0 {
		t.Errorf("groups = %v, %v; want none", gs, err)
	}
	if _, err := LoadUsers(filepath.Join(root, "missing"), nil); err == nil || !strings.Contains(err.Error(), "is not valid") {
		t.Errorf("missing path: %v", err)
	}
	for _, bad := range []string{"-rf", "a:b", "a b", ""} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) = nil", bad)
		}
	}
	writeFile(t, filepath.Join(root, "x", "-g"), "")
	if _, err := LoadGroups(filepath.Join(root, "x", "-g"), nil); err == nil {
		t.Error("a spec named -g was accepted")
	}
	writeFile(t, filepath.Join(root, "y", "u"), "shell=$(id)\n")
	if _, err := LoadUsers(filepath.Join(root, "y", "u"), nil); err == nil {
		t.Error("a value needing the shell was accepted")
	}
}

type reporter struct{ warn func(string) }

func (r reporter) Infof(string, ...any)              {}
func (r reporter) Warnf(f string, a ...any)          { r.warn(fmtS(f, a...)) }
func (r reporter) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }

func fmtS(f string, a ...any) string { return fmt.Sprintf(f, a...) }
