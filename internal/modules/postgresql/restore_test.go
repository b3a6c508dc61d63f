package postgresql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestRestoreRoundTrip: restore puts back the latest snapshot exactly
// (rows added later are gone, deleted ones back), keeps the owner, and
// ends the sessions of the old database.
func TestRestoreRoundTrip(t *testing.T) {
	f := newFixture(t, "roundtrip", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.query("insert into test values ('Bye world')")
	f.must(module.Snapshot)
	f.query("delete from test where msg = 'Hello world'")
	f.query("insert into test values ('later')")
	f.query("create table extra (x int)")

	open := f.srv.Connect(t, "roundtrip")
	f.must(module.Restore)
	// The replaced database is gone, or going: invalid, so that nobody can
	// connect to it, and dropped by the server in the background.
	_, aside := tempNames("roundtrip")
	if got := f.srv.Psql(t, "postgres", "select coalesce(max(datconnlimit), -2) from pg_database where datname = "+literal(aside)); got != "-2" {
		t.Errorf("right after the restore the replaced database %q has datconnlimit %s, want -2 (invalid) or gone", aside, got)
	}
	f.waitTempGone()
	if got := f.query("select string_agg(msg, ',' order by msg) from test"); got != "Bye world,Hello world" {
		t.Fatalf("rows after restore = %q", got)
	}
	if got := f.query("select count(*) from pg_tables where tablename = 'extra'"); got != "0" {
		t.Fatal("a table created after the snapshot survived the restore")
	}
	if err := open.Ping(context.Background()); err == nil {
		t.Error("a session of the old database is still alive after the restore")
	}
	if got := f.query("select datallowconn from pg_database where datname = current_database()"); got != "t" {
		t.Errorf("the restored database does not take connections")
	}
	if dbs := f.srv.Databases(t); strings.Contains(strings.Join(dbs, " "), "dysnomia-") {
		t.Errorf("temporary databases left: %v", dbs)
	}
}

// TestRestoreNamedSnapshot restores an older generation on request, and a
// component without snapshots is a no-op.
func TestRestoreNamedSnapshot(t *testing.T) {
	f := newFixture(t, "named", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Restore) // no snapshot yet: nothing happens
	if got := f.query("select count(*) from test"); got != "1" {
		t.Fatalf("restore without snapshots changed the data: %s rows", got)
	}
	f.must(module.Snapshot)
	f.query("insert into test values ('second')")
	f.must(module.Snapshot)
	gens := f.generations()
	req := f.request(module.Restore)
	req.Snapshot = gens[0].Snapshot.ID
	if err := (Module{}).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := f.query("select count(*) from test"); got != "1" {
		t.Fatalf("rows after restoring generation 1 = %s, want 1", got)
	}
	f.must(module.Restore) // latest
	if got := f.query("select count(*) from test"); got != "2" {
		t.Fatalf("rows after restoring the latest = %s, want 2", got)
	}
}

// TestRestoreIntoMissingDatabase creates it.
func TestRestoreIntoMissingDatabase(t *testing.T) {
	f := newFixture(t, "gone", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	f.srv.Psql(t, "postgres", "drop database gone")
	f.must(module.Restore)
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("rows = %q", got)
	}
}

// TestFailedRestoreLeavesOldDatabase: a snapshot that cannot be loaded
// (an object's owner role no longer exists) fails the restore, and the
// database keeps its current content; no temporary database remains.
func TestFailedRestoreLeavesOldDatabase(t *testing.T) {
	f := newFixture(t, "keepme", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.srv.Psql(t, "postgres", "drop role if exists doomed_owner")
	f.srv.Psql(t, "postgres", "create role doomed_owner")
	t.Cleanup(func() { f.srv.QueryPsql("postgres", "drop role if exists doomed_owner") })
	f.query("create table owned (x int)")
	f.query("alter table owned owner to doomed_owner")
	f.must(module.Snapshot)
	f.query("drop table owned")
	f.srv.Psql(t, "postgres", "drop role doomed_owner")
	f.query("insert into test values ('current')")

	err := f.run(module.Restore)
	if err == nil {
		t.Fatal("restore succeeded although the snapshot's owner role is gone")
	}
	if !strings.Contains(err.Error(), "doomed_owner") || !strings.Contains(err.Error(), `database "keepme" is unchanged`) {
		t.Fatalf("error = %v", err)
	}
	if got := f.query("select string_agg(msg, ',' order by msg) from test"); got != "Hello world,current" {
		t.Fatalf("rows after the failed restore = %q, want the current ones", got)
	}
	if dbs := f.srv.Databases(t); strings.Contains(strings.Join(dbs, " "), "dysnomia-") {
		t.Errorf("temporary databases left: %v", dbs)
	}
}

// TestRestoreRefusesCorruptSnapshot: a snapshot that does not match its
// checksum is refused before anything is touched.
func TestRestoreRefusesCorruptSnapshot(t *testing.T) {
	f := newFixture(t, "corrupt", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	sn := f.generations()[0].Snapshot
	file := filepath.Join(f.store.SnapshotDir(sn), dumpName+".zst")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.query("insert into test values ('current')")
	err = f.run(module.Restore)
	var ie *store.IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("restore of a corrupt snapshot: %v; want an integrity error", err)
	}
	if got := f.query("select count(*) from test"); got != "2" {
		t.Fatalf("rows = %s after a refused restore, want 2", got)
	}
}

// TestRestoreParallelJobs loads through a temporary file with pg_restore -j.
func TestRestoreParallelJobs(t *testing.T) {
	f := newFixture(t, "parallel", map[string]string{
		"a.sql": "create table t1 as select g from generate_series(1, 1000) g;\ncreate table t2 as select g from generate_series(1, 2000) g;\ncreate index on t1 (g);\ncreate index on t2 (g);\n",
	})
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	f.query("delete from t2")
	f.set("postgresqlRestoreJobs", "2")
	f.must(module.Restore)
	if got := f.query("select (select count(*) from t1) || ' ' || (select count(*) from t2) || ' ' || (select count(*) from pg_indexes where schemaname = 'public')"); got != "1000 2000 2" {
		t.Fatalf("rows t1 t2 and indexes = %q, want \"1000 2000 2\"", got)
	}
}

// TestRestoreUpstreamSnapshot restores a store written by upstream
// Dysnomia: snapshots/<c>/<comp>/<hex>/dump.pgsql.xz (plain pg_dump output,
// xz), its hex checksum, and a generation link.
func TestRestoreUpstreamSnapshot(t *testing.T) {
	f := newFixture(t, "upstreamdb", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.query("insert into test values ('Bye world')")
	plain, err := f.srv.Command("upstreamdb", "pg_dump").Output()
	if err != nil {
		t.Fatal(err)
	}
	f.query("delete from test")
	writeUpstreamSnapshot(t, f.store.Dir(), ModuleType, "upstreamdb", plain)

	f.must(module.Restore)
	if got := f.query("select string_agg(msg, ',' order by msg) from test"); got != "Bye world,Hello world" {
		t.Fatalf("rows after restoring the upstream snapshot = %q", got)
	}

	// A failing upstream dump (ON_ERROR_STOP) leaves the database as it is.
	f.query("insert into test values ('current')")
	bad := append(append([]byte{}, plain...), []byte("\nselect * from no_such_table;\n")...)
	writeUpstreamSnapshot(t, f.store.Dir(), ModuleType, "upstreamdb", bad)
	err = f.run(module.Restore)
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("restore of a failing upstream dump: %v", err)
	}
	if got := f.query("select count(*) from test"); got != "3" {
		t.Fatalf("rows after the failed restore = %s, want 3", got)
	}
}

// writeUpstreamSnapshot stores plain as upstream 0.10.2 does: the id is the
// sha256 of dump.pgsql.xz, the checksum the sha256 of ".\n./dump.pgsql.xz\n\n"
// followed by the file, and the next generation links to it.
func writeUpstreamSnapshot(t *testing.T, stateDir, container, comp string, plain []byte) {
	t.Helper()
	var xzBuf bytes.Buffer
	w, err := xz.NewWriter(&xzBuf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fileSum := sha256.Sum256(xzBuf.Bytes())
	id := hex.EncodeToString(fileSum[:])
	dir := filepath.Join(stateDir, "snapshots", container, comp, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dump.pgsql.xz"), xzBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write([]byte(".\n./dump.pgsql.xz\n\n"))
	h.Write(xzBuf.Bytes())
	sums := filepath.Join(stateDir, "checksums", container, comp)
	os.MkdirAll(sums, 0o755)
	if err := os.WriteFile(filepath.Join(sums, id), []byte("sha256:"+hex.EncodeToString(h.Sum(nil))), 0o644); err != nil {
		t.Fatal(err)
	}
	gens := filepath.Join(stateDir, "generations", container, comp)
	os.MkdirAll(gens, 0o755)
	entries, _ := os.ReadDir(gens)
	n := len(entries) + 1
	if err := os.Symlink(filepath.Join("..", "..", "..", "snapshots", container, comp, id), filepath.Join(gens, strconv.Itoa(n))); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverInvalidAside: a replaced database whose drop was cut short is
// left invalid under its aside name (see dropReplaced). The next activity
// drops it; it never puts it back in place of the component's database,
// even when that is missing.
func TestRecoverInvalidAside(t *testing.T) {
	f := newFixture(t, "halfdropped", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	_, aside := tempNames("halfdropped")
	f.srv.Psql(t, "postgres", "create database "+ident(aside))
	f.srv.Psql(t, "postgres", "update pg_database set datconnlimit = -2 where datname = "+literal(aside))
	f.srv.Psql(t, "postgres", "drop database halfdropped")
	f.must(module.Restore)
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("rows after the restore = %q, want the snapshot's", got)
	}
	f.waitTempGone()
	if f.srv.HasDatabase(t, aside) {
		t.Errorf("the invalid database %q is still there", aside)
	}
	if !strings.Contains(f.rep.String(), "waiting for the drop of") {
		t.Errorf("report does not mention the drop:\n%s", f.rep)
	}
}
