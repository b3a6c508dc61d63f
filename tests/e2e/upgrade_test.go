package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/testutil/mysqltest"
	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

// pgContainerOn is the container of srv with a server package, as
// pgContainer is for the machine's own server.
func pgContainerOn(srv *pgtest.Server, serverPackage string) map[string]any {
	props := map[string]any{"timeout": 1}
	for _, p := range srv.Properties() {
		props[p.Key] = p.Value()
	}
	return map[string]any{"type": "postgresql-database", "properties": props, "serverPackage": serverPackage}
}

// corruptSnapshots flips a byte in every file of the component's snapshots.
func corruptSnapshots(t *testing.T, state, container, component string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(state, "snapshots", container, component), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			return err
		}
		data[len(data)/2] ^= 0xff
		n++
		return os.WriteFile(p, data, 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("corrupt the snapshots of %s/%s: %v (%d files)", container, component, err, n)
	}
}

// TestSystemPostgresqlUpgrade is a PostgreSQL major upgrade as NixOS does
// it: the new server runs on a new, empty cluster (here: a second cluster,
// with its own socket). After `system pre-switch` and `system switch` of
// the new config and no other command, the rows written on the old server
// are on the new one (app); a database that already holds data on the new
// server (shop, as after pg_upgrade) is left alone; a damaged pre-upgrade
// snapshot (broken) fails that component only, creates no database, and
// the switch exits non-zero.
func TestSystemPostgresqlUpgrade(t *testing.T) {
	old := pgtest.StartNew(t, pgtest.Options{})
	cur := pgtest.StartNew(t, pgtest.Options{})
	m := newSysMachine(t, old)
	schema := func(table string) map[string]string {
		return map[string]string{"postgresql-databases/schema.sql": "create table " + table + " (name text);\ninsert into " + table + " values ('initial');\n"}
	}
	comps := map[string]any{}
	for _, name := range []string{"app", "shop", "broken"} {
		comps[name] = map[string]any{"path": m.storePath(name, "1", schema("items"))}
	}
	hello := m.storePath("hello", "1", nil)
	pg15, pg16 := m.storePath("postgresql-15.18", "", nil), m.storePath("postgresql-16.9", "", nil)
	config := func(srv *pgtest.Server, pkg string) map[string]any {
		return map[string]any{
			"version":    1,
			"stateDir":   m.state,
			"containers": map[string]any{"postgresql-database": pgContainerOn(srv, pkg), "echo": map[string]any{"type": "echo"}},
			"components": map[string]any{"postgresql-database": comps, "echo": map[string]any{"hello": map[string]any{"path": hello}}},
		}
	}
	top1, top2 := m.toplevel(config(old, pg15)), m.toplevel(config(cur, pg16))
	m.mustSwitch(top1)
	// Written after the first switch: only a snapshot can carry these.
	for _, db := range []string{"app", "shop", "broken"} {
		old.Psql(t, db, "insert into items select 'row ' || g from generate_series(1, 500) g")
	}
	// On the new server, shop was upgraded by other means (pg_upgrade).
	cur.Psql(t, "postgres", "create database shop")
	cur.Psql(t, "shop", "create table upgraded (x int); insert into upgraded values (42)")

	r := m.mustPreSwitch(top2, "switch")
	sysDiff(t, "pre-switch", []string{"snapshot postgresql-database/app", "snapshot postgresql-database/broken", "snapshot postgresql-database/shop"}, steps(r.Stdout))
	if !strings.Contains(r.Stderr, "pre-upgrade snapshot of postgresql-database/app (postgresql-15.18 -> postgresql-16.9)") {
		t.Errorf("pre-switch did not name the pre-upgrade snapshot:\n%s", r.Stderr)
	}
	corruptSnapshots(t, m.state, "postgresql-database", "broken")

	r = Run(t, m.env, "dysnomia", "system", "switch", "--config", configOf(top2))
	if r.Code == 0 {
		t.Fatalf("switch with a damaged pre-upgrade snapshot exited 0\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	sysDiff(t, "switch", []string{"restore postgresql-database/app", "activate postgresql-database/app", "activate postgresql-database/shop"}, steps(r.Stdout))
	if got := cur.Psql(t, "app", "select count(*) from items"); got != "501" {
		t.Errorf("app on the new server has %s rows, want 501 (1 initial + 500 written after the first switch)", got)
	}
	for _, want := range []string{
		"restored postgresql-database/app from pre-upgrade snapshot ",
		"(postgresql-15.18 -> postgresql-16.9)",
		"postgresql-database/shop exists with data on the new server (postgresql-15.18 -> postgresql-16.9): left as it is",
		"restore pre-upgrade snapshot postgresql-database/broken/",
		"checksum mismatch",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("switch did not say %q:\n%s", want, r.Stderr)
		}
	}
	if got := cur.Psql(t, "shop", "select string_agg(x::text, ',') from upgraded"); got != "42" {
		t.Errorf("shop on the new server: %q", got)
	}
	if n := cur.Psql(t, "shop", "select count(*) from pg_tables where tablename = 'items'"); n != "0" {
		t.Errorf("shop got the old server's table: restored over data")
	}
	if cur.HasDatabase(t, "broken") {
		t.Error("a database broken was created in place of the damaged snapshot")
	}
	sysDiff(t, "databases on the new server", []string{"app", "postgres", "shop"}, cur.Databases(t))

	// The next switch (e.g. at boot) still refuses to start broken empty,
	// and leaves the others alone.
	r = Run(t, m.env, "dysnomia", "system", "switch", "--config", configOf(top2))
	if r.Code == 0 || cur.HasDatabase(t, "broken") {
		t.Errorf("second switch: exit %d, broken exists %v\n%s", r.Code, cur.HasDatabase(t, "broken"), r.Stderr)
	}
	sysDiff(t, "second switch", []string{}, steps(r.Stdout))
}

// TestSystemRemovedServer: a container and its component are removed and
// the server is stopped before `system switch` runs, as
// switch-to-configuration stops a removed server before dysnomia.service.
// The pre-switch snapshot taken while it ran retires the component; the
// next switch and boot have nothing to do. Without a pre-switch snapshot
// the switch fails once, saying what to do, and not again.
func TestSystemRemovedServer(t *testing.T) {
	for _, protected := range []bool{true, false} {
		name := "unprotected"
		if protected {
			name = "protected"
		}
		t.Run(name, func(t *testing.T) {
			legacy := pgtest.StartNew(t, pgtest.Options{})
			m := newSysMachine(t, legacy)
			db := m.storePath("ledger", "1", map[string]string{"postgresql-databases/s.sql": "create table t (x int);\n"})
			hello := m.storePath("hello", "1", nil)
			pg := m.storePath("postgresql-15.18", "", nil)
			v1 := m.toplevel(map[string]any{"version": 1, "stateDir": m.state,
				"containers": map[string]any{"legacy-pg": pgContainerOn(legacy, pg), "echo": map[string]any{"type": "echo"}},
				"components": map[string]any{"legacy-pg": map[string]any{"ledger": map[string]any{"path": db}}, "echo": map[string]any{"hello": map[string]any{"path": hello}}}})
			v2 := m.toplevel(map[string]any{"version": 1, "stateDir": m.state,
				"containers": map[string]any{"echo": map[string]any{"type": "echo"}},
				"components": map[string]any{"echo": map[string]any{"hello": map[string]any{"path": hello}}}})
			m.mustSwitch(v1)
			legacy.Psql(t, "ledger", "insert into t values (7)")
			if protected {
				r := m.mustPreSwitch(v2, "switch")
				sysDiff(t, "pre-switch", []string{"snapshot legacy-pg/ledger"}, steps(r.Stdout))
			}
			if err := legacy.Halt(); err != nil {
				t.Fatal(err)
			}
			r := Run(t, m.env, "dysnomia", "system", "switch", "--config", configOf(v2))
			if protected {
				if r.Code != 0 || !strings.Contains(r.Stderr, "retired legacy-pg/ledger") || !strings.Contains(r.Stderr, "pre-switch snapshot ") {
					t.Fatalf("switch: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
				}
				sysDiff(t, "switch", []string{"deactivate legacy-pg/ledger"}, steps(r.Stdout))
				if _, err := os.Stat(filepath.Join(m.state, "garbage", "legacy-pg", "ledger")); err != nil {
					t.Errorf("ledger is not marked garbage: %v", err)
				}
			} else if r.Code == 0 || !strings.Contains(r.Stderr, "no pre-switch snapshot protects this removal") || !strings.Contains(r.Stderr, "later switches do not try again") {
				t.Fatalf("switch without a pre-switch snapshot: exit %d\nstderr:\n%s", r.Code, r.Stderr)
			}
			// Later switches, and the one at every boot, have nothing to do.
			for i := 0; i < 2; i++ {
				r = m.mustSwitch(v2)
				if r.Stdout != "" || !strings.Contains(r.Stderr, "nothing to do") {
					t.Errorf("switch %d after the removal:\nstdout:\n%s\nstderr:\n%s", i, r.Stdout, r.Stderr)
				}
			}
		})
	}
}

// myServerPackage makes a fake server package whose bin/ holds the real
// MariaDB client and, unless trap, the real mariadb-dump; with trap its
// mariadb-dump fails loudly: it must never be used for a snapshot of the
// old server.
func (m *sysMachine) myServerPackage(name string, trap bool) string {
	m.t.Helper()
	bins := mysqltest.Require(m.t)
	pkg := m.storePath(name, "", nil)
	bin := filepath.Join(pkg, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Symlink(bins.Client, filepath.Join(bin, "mariadb")); err != nil {
		m.t.Fatal(err)
	}
	if trap {
		sysWrite(m.t, filepath.Join(bin, "mariadb-dump"), "#!/bin/sh\necho \"trap: $0 used to dump the old server\" >&2\nexit 9\n", 0o755)
	} else if err := os.Symlink(bins.Dump, filepath.Join(bin, "mariadb-dump")); err != nil {
		m.t.Fatal(err)
	}
	return pkg
}

// TestSystemMariadbUpgrade is TestSystemPostgresqlUpgrade for MariaDB,
// with `nixos-rebuild boot`: pre-switch takes the snapshots for action
// boot, and the switch (dysnomia.service at the next boot) restores them.
// The new server package's mariadb-dump is first on PATH, as the NixOS
// module's pre-switch check puts the candidate's packages there: the
// snapshots must be taken with the running server's. Then an in-place
// upgrade (same server, new package) changes nothing.
func TestSystemMariadbUpgrade(t *testing.T) {
	old, cur := mysqltest.Start(t), mysqltest.Start(t)
	m := newSysMachine(t, nil)
	mdb1, mdb2, mdb3 := m.myServerPackage("mariadb-server-10.11.11", false), m.myServerPackage("mariadb-server-11.4.5", true), m.myServerPackage("mariadb-server-11.4.6", true)
	comps := map[string]any{}
	for _, name := range []string{"app", "shop", "broken"} {
		comps[name] = map[string]any{"path": m.storePath(name, "1", map[string]string{
			"mysql-databases/schema.sql": "CREATE TABLE items (name VARCHAR(40));\nINSERT INTO items VALUES ('initial');\n"})}
	}
	config := func(srv *mysqltest.Server, pkg string) map[string]any {
		return map[string]any{
			"version":  1,
			"stateDir": m.state,
			"containers": map[string]any{"mysql-database": map[string]any{"type": "mysql-database", "serverPackage": pkg,
				"properties": map[string]any{"mysqlSocket": srv.Socket, "mysqlUsername": "root", "timeout": 2}}},
			"components": map[string]any{"mysql-database": comps},
		}
	}
	top1, top2, top3 := m.toplevel(config(old, mdb1)), m.toplevel(config(cur, mdb2)), m.toplevel(config(cur, mdb3))
	m.mustSwitch(top1)
	for _, db := range []string{"app", "shop", "broken"} {
		old.Exec(t, "INSERT INTO "+mysqltest.Ident(db)+".items VALUES ('a'), ('b'), ('c')")
	}
	cur.Exec(t, "CREATE DATABASE shop")
	cur.Exec(t, "CREATE TABLE shop.upgraded (x INT)")
	cur.Exec(t, "INSERT INTO shop.upgraded VALUES (42)")

	env := append(append([]string{}, m.env...), "PATH="+filepath.Join(mdb2, "bin")+":"+os.Getenv("PATH"))
	r := Run(t, env, "dysnomia", "system", "pre-switch", top2, "boot", "--current", m.noCurrent)
	if r.Code != 0 {
		t.Fatalf("pre-switch boot: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	sysDiff(t, "pre-switch", []string{"snapshot mysql-database/app", "snapshot mysql-database/broken", "snapshot mysql-database/shop"}, steps(r.Stdout))
	corruptSnapshots(t, m.state, "mysql-database", "broken")

	r = Run(t, m.env, "dysnomia", "system", "switch", "--config", configOf(top2))
	if r.Code == 0 {
		t.Fatalf("switch with a damaged pre-upgrade snapshot exited 0\nstderr:\n%s", r.Stderr)
	}
	sysDiff(t, "switch", []string{"restore mysql-database/app", "activate mysql-database/app", "activate mysql-database/shop"}, steps(r.Stdout))
	sysDiff(t, "app on the new server", [][]string{{"4"}}, cur.Rows(t, "SELECT COUNT(*) FROM app.items"))
	sysDiff(t, "shop on the new server", [][]string{{"upgraded"}}, cur.Rows(t, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'"))
	if cur.HasDatabase(t, "broken") {
		t.Error("a database broken was created in place of the damaged snapshot")
	}
	for _, want := range []string{
		"restored mysql-database/app from pre-upgrade snapshot ",
		"(mariadb-server-10.11.11 -> mariadb-server-11.4.5)",
		"mysql-database/shop exists with data on the new server",
		"restore pre-upgrade snapshot mysql-database/broken/",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("switch did not say %q:\n%s", want, r.Stderr)
		}
	}

	// An in-place upgrade: the same server, a new package. Every database
	// holds data, so nothing is restored; broken, still missing, still
	// fails (its pre-upgrade snapshot was for the change to 11.4.5).
	cur.Exec(t, "INSERT INTO app.items VALUES ('after the upgrade')")
	r = Run(t, m.env, "dysnomia", "system", "switch", "--config", configOf(top3))
	sysDiff(t, "in-place switch", []string{"activate mysql-database/app", "activate mysql-database/shop"}, steps(r.Stdout))
	sysDiff(t, "app after the in-place upgrade", [][]string{{"5"}}, cur.Rows(t, "SELECT COUNT(*) FROM app.items"))
	if !strings.Contains(r.Stderr, "mysql-database/app exists with data on the new server (mariadb-server-11.4.5 -> mariadb-server-11.4.6): left as it is") {
		t.Errorf("in-place switch:\n%s", r.Stderr)
	}
}
