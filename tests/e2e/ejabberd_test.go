package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/testutil/ejabberdtest"
)

func ejDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	return Run(t, env, "dysnomia", "--type", "ejabberd-dump", "--operation", op,
		"--component", comp, "--container", "ejabberd-dump", "--environment")
}

func ejMustDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	r := ejDisnix(t, env, op, comp)
	if r.Code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", op, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// TestEjabberdDisnix runs the ejabberd-dump module through the built binary
// as Disnix calls it, with the properties in the environment, on a
// component whose name holds a quote and a space.
func TestEjabberdDisnix(t *testing.T) {
	node := ejabberdtest.Start(t)
	node.Ctl(t, "register", "admin", ejabberdtest.Host, "admin")
	raw := filepath.Join(node.SpoolDir, "initial")
	node.Ctl(t, "dump", raw)
	initial, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	node.Reset(t)

	storeDir := t.TempDir()
	comp := filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-it's ejabberd")
	myWrite(t, filepath.Join(comp, "ejabberd-dump", "ejabberdcfg.dump"), string(initial))
	env, _ := StateEnv(t)
	env = append(env, "NIX_STORE_DIR="+storeDir)
	for _, p := range node.Properties() {
		env = append(env, p.Key+"="+p.Value())
	}
	users := func() string { return strings.Join(node.Users(t), ",") }

	ejMustDisnix(t, env, "activate", comp)
	if got := users(); got != "admin" {
		t.Fatalf("after activate: users %q", got)
	}
	node.Ctl(t, "register", "newuser", ejabberdtest.Host, "newuser")
	ejMustDisnix(t, env, "snapshot", comp)
	ejMustDisnix(t, env, "snapshot", comp)
	q := MustRun(t, env, "dysnomia-snapshots", "--query-all", "--container", "ejabberd-dump", "--component", comp)
	if lines := strings.Split(strings.TrimSpace(q.Stdout), "\n"); len(lines) != 1 {
		t.Fatalf("an unchanged database made a new generation: %q", q.Stdout)
	}
	node.Ctl(t, "register", "later", ejabberdtest.Host, "later")
	ejMustDisnix(t, env, "restore", comp)
	if got := users(); got != "admin,newuser" {
		t.Errorf("after restore: users %q, want admin,newuser", got)
	}

	// A bad initial dump: a non-zero exit naming the file, nothing loaded.
	bad := filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-bad")
	myWrite(t, filepath.Join(bad, "ejabberd-dump", "broken.dump"), string(initial[:len(initial)-10]))
	r := ejDisnix(t, env, "activate", bad)
	if r.Code == 0 || !strings.Contains(r.Stderr, "broken.dump") {
		t.Errorf("activate with a bad dump: exit %d\n%s", r.Code, r.Stderr)
	}
}
