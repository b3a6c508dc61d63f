package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

// pgComponent makes a component in a fake Nix store (NIX_STORE_DIR) under a
// temporary directory: <store>/<hash>-<name>/postgresql-databases/*.sql.
func pgComponent(t *testing.T, name string, scripts map[string]string) (path, storeDir string) {
	t.Helper()
	storeDir = t.TempDir()
	path = filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-"+name)
	dir := filepath.Join(path, "postgresql-databases")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, content := range scripts {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path, storeDir
}

// disnix runs dysnomia the way Disnix does for an activity: type, operation,
// component, container name and --environment, with the container
// properties in the environment.
func disnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	return Run(t, env, "dysnomia", "--type", "postgresql-database", "--operation", op,
		"--component", comp, "--container", "postgresql-database", "--environment")
}

func mustDisnix(t *testing.T, env []string, op, comp string) {
	t.Helper()
	if r := disnix(t, env, op, comp); r.Code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", op, r.Code, r.Stdout, r.Stderr)
	}
}

func snapshotCount(t *testing.T, stateDir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "snapshots", "postgresql-database", "testdb"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// TestPostgresqlUpstreamScenario is upstream's postgresql-database test,
// through the built binary called as Disnix calls it.
func TestPostgresqlUpstreamScenario(t *testing.T) {
	srv := pgtest.Start(t)
	comp, storeDir := pgComponent(t, "testdb", map[string]string{
		"testdb.sql": "create table test (msg text);\ninsert into test values ('Hello world');\n",
	})
	env, stateDir := StateEnv(t)
	env = append(append(env, srv.PropertyEnv()...), "NIX_STORE_DIR="+storeDir)
	rows := func() string { return srv.Psql(t, "testdb", "select string_agg(msg, ',' order by msg) from test") }

	mustDisnix(t, env, "activate", comp)
	if got := rows(); got != "Hello world" {
		t.Fatalf("after activate: %q", got)
	}
	mustDisnix(t, env, "activate", comp)
	if got := rows(); got != "Hello world" {
		t.Fatalf("after a second activate: %q (re-imported?)", got)
	}

	mustDisnix(t, env, "snapshot", comp)
	if n := snapshotCount(t, stateDir); n != 1 {
		t.Fatalf("snapshots after the first snapshot = %d, want 1", n)
	}
	mustDisnix(t, env, "snapshot", comp)
	if n := snapshotCount(t, stateDir); n != 1 {
		t.Fatalf("snapshots after an unchanged snapshot = %d, want 1", n)
	}
	srv.Psql(t, "testdb", "insert into test values ('Bye world')")
	mustDisnix(t, env, "snapshot", comp)
	if n := snapshotCount(t, stateDir); n != 2 {
		t.Fatalf("snapshots after a change = %d, want 2", n)
	}

	mustDisnix(t, env, "collect-garbage", comp)
	if got := rows(); got != "Bye world,Hello world" {
		t.Fatalf("gc while active changed the database: %q", got)
	}
	mustDisnix(t, env, "deactivate", comp)
	mustDisnix(t, env, "deactivate", comp)
	mustDisnix(t, env, "collect-garbage", comp)
	if _, err := srv.QueryPsql("testdb", "select * from test"); err == nil {
		t.Fatal("the database still answers after deactivate and gc")
	}

	mustDisnix(t, env, "activate", comp)
	if got := rows(); got != "Hello world" {
		t.Fatalf("after re-activation: %q, want the initial state", got)
	}
	mustDisnix(t, env, "restore", comp)
	if got := rows(); got != "Bye world,Hello world" {
		t.Fatalf("after restore: %q, want the latest snapshot", got)
	}
}

// TestPostgresqlFailingInitScriptExitStatus: a failing init script makes
// dysnomia exit non-zero with the file and line on stderr, and leaves no
// database.
func TestPostgresqlFailingInitScriptExitStatus(t *testing.T) {
	srv := pgtest.Start(t)
	comp, storeDir := pgComponent(t, "brokendb", map[string]string{
		"1.sql": "create table t (x int);\n",
		"2.sql": "insert into t values (1);\ninsert into t values ('not a number');\n",
	})
	env, _ := StateEnv(t)
	env = append(append(env, srv.PropertyEnv()...), "NIX_STORE_DIR="+storeDir)
	r := disnix(t, env, "activate", comp)
	if r.Code == 0 {
		t.Fatal("activate with a failing init script exited 0")
	}
	if want := filepath.Join(comp, "postgresql-databases", "2.sql") + ", line 2"; !strings.Contains(r.Stderr, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, r.Stderr)
	}
	if srv.HasDatabase(t, "brokendb") {
		t.Fatal("database left behind")
	}
}

// TestPostgresqlLockWithoutProperties: Disnix calls lock and unlock with
// no container properties; they succeed.
func TestPostgresqlLockWithoutProperties(t *testing.T) {
	comp, storeDir := pgComponent(t, "testdb", nil)
	env, _ := StateEnv(t)
	env = append(env, "NIX_STORE_DIR="+storeDir)
	for _, op := range []string{"lock", "unlock"} {
		r := Run(t, env, "dysnomia", "--type", "postgresql-database", "--operation", op,
			"--container", "postgresql-database", "--component", comp, "--environment")
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", op, r.Code, r.Stderr)
		}
	}
}

// TestPostgresqlShell: the shell session has the psql variables.
func TestPostgresqlShell(t *testing.T) {
	srv := pgtest.Start(t)
	comp, storeDir := pgComponent(t, "testdb", nil)
	env, _ := StateEnv(t)
	env = append(append(env, srv.PropertyEnv()...), "NIX_STORE_DIR="+storeDir)
	r := MustRun(t, env, "dysnomia", "--type", "postgresql-database", "--shell", "-c", comp, "-E",
		"--command", `echo "$PGHOST $PGPORT $PGUSER $PGDATABASE"`)
	want := srv.SocketDir + " " + srv.Properties().Lookup("postgresqlPort") + " " + srv.Superuser + " testdb"
	if strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("shell printed %q, want %q", r.Stdout, want)
	}
	if !strings.Contains(r.Stderr, "psql") {
		t.Errorf("no help on stderr:\n%s", r.Stderr)
	}
}
