package sqlite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

const schema = `
CREATE TABLE log (step TEXT NOT NULL);
CREATE TABLE test (id INTEGER PRIMARY KEY, msg TEXT, n REAL, data BLOB);
-- a trigger: semicolons inside its body
CREATE TRIGGER count_msgs AFTER INSERT ON test BEGIN
  UPDATE counter SET n = n + 1;
  INSERT INTO log VALUES ('trigger;' || coalesce(new.msg, '-'));
END;
CREATE TABLE counter (n INTEGER);
INSERT INTO counter VALUES (0);
INSERT INTO log VALUES ('01');
`

func TestActivateRunsScriptsInOrder(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb",
		"01-schema.sql", schema,
		"02-data.sql", "INSERT INTO test (msg) VALUES ('Hello world');\nINSERT INTO log VALUES ('02');\n",
		"10-more.sql", "INSERT INTO log VALUES ('10');\nUPDATE test SET msg = msg || '!';",
		"2-last.sql", "INSERT INTO log VALUES ('2');",
		"README", "not SQL; not run",
		"notes.sql.txt", "not run either",
	)
	e.must(module.Activate, comp)

	got := rows(t, e.open(comp))
	want := map[string][][]any{
		"counter": {{int64(1)}},
		"log":     {{"01"}, {"trigger;Hello world"}, {"02"}, {"10"}, {"2"}},
		"test":    {{int64(1), "Hello world!", nil, nil}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("database after activate (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"testdb.sqlite"}, e.dirEntries()); diff != "" {
		t.Errorf("database directory (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(e.dbPath(comp))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if ok, _ := e.store.IsActive(e.request(module.Activate, comp).Key()); !ok {
		t.Error("component not marked active")
	}
}

func TestActivateIsIdempotent(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", "CREATE TABLE test (msg TEXT); INSERT INTO test VALUES ('Hello world');")
	e.must(module.Activate, comp)
	db := e.open(comp)
	e.exec(db, "INSERT INTO test VALUES ('Bye world')")
	e.must(module.Activate, comp)
	want := map[string][][]any{"test": {{"Hello world"}, {"Bye world"}}}
	if diff := cmp.Diff(want, rows(t, db)); diff != "" {
		t.Errorf("second activate changed the database (-want +got):\n%s", diff)
	}
}

func TestActivateWithoutScripts(t *testing.T) {
	e := newEnv(t)
	comp := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(comp, 0o755)
	e.must(module.Activate, comp)
	if diff := cmp.Diff(map[string][][]any{}, rows(t, e.open(comp))); diff != "" {
		t.Errorf("database of a component without scripts (-want +got):\n%s", diff)
	}
}

func TestActivateFailingScriptLeavesNothing(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb",
		"01-schema.sql", "CREATE TABLE test (msg TEXT);\nINSERT INTO test VALUES ('Hello world');\n",
		"02-data.sql", "INSERT INTO test VALUES ('one');\n\n-- the next statement fails\nINSERT INTO nosuchtable\n  VALUES ('two');\nINSERT INTO test VALUES ('three');\n",
	)
	err := e.run(module.Activate, comp)
	if err == nil {
		t.Fatal("activate succeeded with a failing init script")
	}
	for _, want := range []string{
		`activate sqlite database "testdb" in container sqlite-test`,
		filepath.Join(comp, initDir, "02-data.sql") + ", line 4",
		"INSERT INTO nosuchtable …",
		"no such table: nosuchtable",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if ents := e.dirEntries(); len(ents) != 0 {
		t.Errorf("failed activate left files behind: %q", ents)
	}
	if ok, _ := e.store.IsActive(e.request(module.Activate, comp).Key()); ok {
		t.Error("failed activate marked the component active")
	}

	// Fixed, it activates from scratch: nothing of the failed run remains.
	os.WriteFile(filepath.Join(comp, initDir, "02-data.sql"), []byte("INSERT INTO test VALUES ('two');"), 0o644)
	e.must(module.Activate, comp)
	if diff := cmp.Diff(map[string][][]any{"test": {{"Hello world"}, {"two"}}}, rows(t, e.open(comp))); diff != "" {
		t.Errorf("database after fixed activate (-want +got):\n%s", diff)
	}
}

func TestActivateDumpStyleScript(t *testing.T) {
	e := newEnv(t)
	// What sqlite3's .dump writes.
	dump := "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE test (msg TEXT);\nINSERT INTO test VALUES('Hello world');\nCOMMIT;\n"
	comp := e.component("dumped", "dump.sql", dump)
	e.must(module.Activate, comp)
	if diff := cmp.Diff(map[string][][]any{"test": {{"Hello world"}}}, rows(t, e.open(comp))); diff != "" {
		t.Errorf("database from a .dump script (-want +got):\n%s", diff)
	}

	bad := e.component("rolledback", "a.sql", "CREATE TABLE t (x);\nROLLBACK;\n")
	err := e.run(module.Activate, bad)
	if err == nil || !strings.Contains(err.Error(), "a.sql, line 2: ROLLBACK;: a ROLLBACK cannot be honoured") {
		t.Errorf("activate with ROLLBACK: err = %v", err)
	}
	if _, serr := os.Stat(e.dbPath(bad)); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("activate with ROLLBACK left %s", e.dbPath(bad))
	}
}

func TestJournalModeProperty(t *testing.T) {
	for _, mode := range []string{"wal", "DELETE"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, "sqliteJournalMode", mode)
			comp := e.component("testdb", "01.sql", "CREATE TABLE t (x);")
			e.must(module.Activate, comp)
			var got string
			if err := e.open(comp).QueryRow("PRAGMA journal_mode").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, mode) {
				t.Errorf("journal mode = %s, want %s", got, mode)
			}

			// A restore into a missing file gives it the journal mode too
			// (snapshots are always in rollback mode).
			e.must(module.Snapshot, comp)
			e.must(module.Deactivate, comp)
			e.must(module.CollectGarbage, comp)
			e.must(module.Restore, comp)
			if err := e.open(comp).QueryRow("PRAGMA journal_mode").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, mode) {
				t.Errorf("journal mode after restore = %s, want %s", got, mode)
			}
		})
	}
}

func TestBadProperties(t *testing.T) {
	tests := []struct {
		props []string
		want  string
	}{
		{[]string{"timeout", "soon"}, `container property timeout="soon"`},
		{[]string{"sqliteJournalMode", "OFF"}, `container property sqliteJournalMode="OFF"`},
		{[]string{"sqliteOwner", "no-such-user-here"}, `container property sqliteOwner="no-such-user-here"`},
		{[]string{"sqliteOwner", "root:"}, `want user or user:group`},
	}
	for _, tt := range tests {
		e := newEnv(t, tt.props...)
		comp := e.component("testdb")
		err := e.run(module.Activate, comp)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("activate with %q: err = %v, want it to contain %q", tt.props, err, tt.want)
		}
		if ents := e.dirEntries(); len(ents) != 0 {
			t.Errorf("activate with %q left %q", tt.props, ents)
		}
	}

	e := newEnv(t)
	e.props = nil
	err := e.run(module.Activate, e.component("testdb"))
	if err == nil || !strings.Contains(err.Error(), "sqliteDatabaseDir is not set") {
		t.Errorf("activate without sqliteDatabaseDir: err = %v", err)
	}
}

func TestOwnerProperty(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("changing owners needs root")
	}
	e := newEnv(t, "sqliteOwner", "65534:65533")
	comp := e.component("testdb", "01.sql", "CREATE TABLE t (x);")
	e.must(module.Activate, comp)
	for _, p := range []string{e.dir, e.dbPath(comp)} {
		uid, gid := fileOwner(t, p)
		if uid != 65534 || gid != 65533 {
			t.Errorf("%s is owned by %d:%d, want 65534:65533", p, uid, gid)
		}
	}
}

func TestOrphanSidecarsAreCleared(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", "CREATE TABLE t (x); INSERT INTO t VALUES (1);")
	os.MkdirAll(e.dir, 0o755)
	// A journal left over without its database: applied to a new file of the
	// same name, it would damage it.
	os.WriteFile(e.dbPath(comp)+"-journal", bytes.Repeat([]byte{0xd9}, 4096), 0o644)
	os.WriteFile(e.dbPath(comp)+"-wal", bytes.Repeat([]byte{0x37}, 4096), 0o644)
	e.must(module.Activate, comp)
	if diff := cmp.Diff([]string{"testdb.sqlite"}, e.dirEntries()); diff != "" {
		t.Errorf("database directory (-want +got):\n%s", diff)
	}
	if len(e.rep.warns) != 2 {
		t.Errorf("warnings = %q, want one per removed file", e.rep.warns)
	}
	if diff := cmp.Diff(map[string][][]any{"t": {{int64(1)}}}, rows(t, e.open(comp))); diff != "" {
		t.Errorf("database (-want +got):\n%s", diff)
	}
}

func TestSnapshotUnchangedDataKeepsItsID(t *testing.T) {
	for _, mode := range []string{"DELETE", "WAL"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, "sqliteJournalMode", mode)
			comp := e.component("testdb", "01.sql", schema, "02.sql", "INSERT INTO test (msg) VALUES ('Hello world');")
			e.must(module.Activate, comp)
			e.must(module.Snapshot, comp)
			db := e.open(comp)
			first := e.generations(comp)

			// Changes that leave the data as it was.
			e.exec(db, "INSERT INTO log VALUES ('x'); DELETE FROM log WHERE step = 'x'")
			e.exec(db, "UPDATE test SET msg = msg")
			e.exec(db, "CREATE TABLE scratch (x); DROP TABLE scratch") // bumps the schema cookie
			e.must(module.Snapshot, comp)
			if diff := cmp.Diff(first, e.generations(comp)); diff != "" {
				t.Fatalf("unchanged data made a new generation (-before +after):\n%s", diff)
			}

			e.exec(db, "INSERT INTO test (msg) VALUES ('Bye world')")
			e.must(module.Snapshot, comp)
			gens := e.generations(comp)
			if len(gens) != 2 || gens[1].Snapshot.ID == gens[0].Snapshot.ID {
				t.Fatalf("generations after a change = %+v, want 2 different ones", gens)
			}
			if ents := e.leftovers(); len(ents) != 0 {
				t.Errorf("snapshots left files in the database directory: %q", ents)
			}
		})
	}
}

func TestSnapshotOfMissingDatabase(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb")
	err := e.run(module.Snapshot, comp)
	if err == nil || !strings.Contains(err.Error(), "testdb.sqlite does not exist") {
		t.Errorf("snapshot of a missing database: err = %v", err)
	}
}

// TestSnapshotWhileWriting takes a snapshot while another connection keeps
// committing transactions of two rows each. The restored database must hold
// a prefix of those transactions, each one whole: every transaction
// committed before the snapshot started, none after it ended, none halfway.
func TestSnapshotWhileWriting(t *testing.T) {
	for _, mode := range []string{"DELETE", "WAL"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, "sqliteJournalMode", mode, "timeout", "60")
			comp := e.component("busy", "01.sql", "CREATE TABLE pairs (tx INTEGER NOT NULL, half TEXT NOT NULL, pad BLOB);")
			e.must(module.Activate, comp)
			// Some bulk, so that the copy takes a while.
			e.exec(e.open(comp), "CREATE TABLE bulk AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) SELECT i, randomblob(200) AS b FROM c")

			var (
				mu        sync.Mutex
				committed int
				stop      = make(chan struct{})
				done      = make(chan error)
				started   = make(chan struct{})
			)
			writer := e.open(comp)
			go func() {
				for i := 1; ; i++ {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					tx, err := writer.Begin()
					if err == nil {
						_, err = tx.Exec("INSERT INTO pairs VALUES (?, 'a', randomblob(100)), (?, 'b', randomblob(100))", i, i)
						if err == nil {
							err = tx.Commit()
						} else {
							tx.Rollback()
						}
					}
					if err != nil {
						done <- err
						return
					}
					mu.Lock()
					committed = i
					mu.Unlock()
					if i == 50 {
						close(started)
					}
				}
			}()
			<-started
			mu.Lock()
			before := committed
			mu.Unlock()
			serr := e.run(module.Snapshot, comp)
			mu.Lock()
			after := committed
			mu.Unlock()
			close(stop)
			if err := <-done; err != nil {
				t.Fatalf("writer: %v", err)
			}
			if serr != nil {
				t.Fatalf("snapshot: %v", serr)
			}
			t.Logf("%s: %d transactions committed before the snapshot, %d when it returned", mode, before, after)

			e.must(module.Restore, comp)
			db := e.open(comp)
			var n, txs, minTx, maxTx int
			err := db.QueryRow("SELECT count(*), count(DISTINCT tx), coalesce(min(tx), 0), coalesce(max(tx), 0) FROM pairs").Scan(&n, &txs, &minTx, &maxTx)
			if err != nil {
				t.Fatal(err)
			}
			var halves int
			db.QueryRow("SELECT count(*) FROM (SELECT tx FROM pairs GROUP BY tx HAVING count(*) != 2 OR min(half) != 'a' OR max(half) != 'b')").Scan(&halves)
			if halves != 0 || n != 2*txs || minTx != 1 && txs > 0 || maxTx != txs {
				t.Errorf("restored pairs: %d rows, %d transactions %d..%d, %d incomplete: not a prefix of whole transactions", n, txs, minTx, maxTx, halves)
			}
			t.Logf("%s: the snapshot holds %d transactions", mode, txs)
			if txs < before || txs > after {
				t.Errorf("restored %d transactions; want between %d (before the snapshot) and %d (after it)", txs, before, after)
			}
			if err := checkIntegrity(context.Background(), e.dbPath(comp), &settings{}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", schema)
	e.must(module.Activate, comp)
	db := e.open(comp)
	e.exec(db, "INSERT INTO test (msg, n, data) VALUES (?, ?, ?), (?, ?, ?), (NULL, NULL, NULL)",
		"Hello world", 1.5, []byte{0, 1, 2, 255}, "grüße; ' \" \n", -2e300, []byte{})
	want := rows(t, db)
	e.must(module.Snapshot, comp)

	// A reader holds the database open across the restore, as a running
	// application would.
	reader := e.open(comp)
	reader.SetMaxOpenConns(1)
	reader.Ping()

	e.exec(db, "DELETE FROM test WHERE id = 1")
	e.exec(db, "UPDATE test SET msg = 'changed'")
	e.exec(db, "CREATE TABLE extra (x); INSERT INTO extra VALUES (1)")
	e.must(module.Restore, comp)

	if diff := cmp.Diff(want, rows(t, db)); diff != "" {
		t.Errorf("restored database (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, rows(t, reader)); diff != "" {
		t.Errorf("restored database through a connection opened before the restore (-want +got):\n%s", diff)
	}
	if ents := e.dirEntries(); len(ents) != 1 {
		t.Errorf("restore left files in the database directory: %q", ents)
	}

	// The database file gone (deactivate, collect-garbage): restore brings it
	// back as a new file.
	e.must(module.Deactivate, comp)
	e.must(module.CollectGarbage, comp)
	e.must(module.Restore, comp)
	if diff := cmp.Diff(want, rows(t, e.open(comp))); diff != "" {
		t.Errorf("database restored into a missing file (-want +got):\n%s", diff)
	}
}

func TestRestoreChosenSnapshot(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", "CREATE TABLE test (msg TEXT); INSERT INTO test VALUES ('Hello world');")
	e.must(module.Activate, comp)
	db := e.open(comp)
	e.must(module.Snapshot, comp)
	e.exec(db, "INSERT INTO test VALUES ('Bye world')")
	e.must(module.Snapshot, comp)
	gens := e.generations(comp)

	req := e.request(module.Restore, comp)
	req.Snapshot = gens[0].Snapshot.ID
	if err := (Module{}).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][][]any{"test": {{"Hello world"}}}, rows(t, db)); diff != "" {
		t.Errorf("database restored from generation 1 (-want +got):\n%s", diff)
	}
	e.must(module.Restore, comp) // the latest
	if diff := cmp.Diff(map[string][][]any{"test": {{"Hello world"}, {"Bye world"}}}, rows(t, db)); diff != "" {
		t.Errorf("database restored from the latest generation (-want +got):\n%s", diff)
	}
}

func TestRestoreWithoutSnapshotDoesNothing(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", "CREATE TABLE test (msg TEXT); INSERT INTO test VALUES ('Hello world');")
	e.must(module.Activate, comp)
	before, _ := os.ReadFile(e.dbPath(comp))
	e.must(module.Restore, comp)
	after, _ := os.ReadFile(e.dbPath(comp))
	if !bytes.Equal(before, after) {
		t.Error("restore without a snapshot changed the database")
	}
}

// TestFailedRestoreLeavesDatabase restores snapshots that must be refused:
// one whose stored file was damaged (checksum mismatch), and one whose
// checksum is right but whose content is no sound database.
func TestFailedRestoreLeavesDatabase(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", "CREATE TABLE test (msg TEXT); INSERT INTO test VALUES ('Hello world');")
	e.must(module.Activate, comp)
	e.must(module.Snapshot, comp)
	db := e.open(comp)
	e.exec(db, "INSERT INTO test VALUES ('Bye world')")
	want := rows(t, db)
	key := e.request(module.Restore, comp).Key()
	check := func(what string, err error, contains string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), contains) {
			t.Errorf("%s: err = %v, want it to contain %q", what, err, contains)
		}
		if diff := cmp.Diff(want, rows(t, db)); diff != "" {
			t.Errorf("%s changed the database (-want +got):\n%s", what, diff)
		}
		if ents := e.dirEntries(); len(ents) != 1 {
			t.Errorf("%s left files in the database directory: %q", what, ents)
		}
	}

	// A damaged snapshot file.
	sn, _, _ := e.store.Latest(key)
	payload := filepath.Join(e.store.SnapshotDir(sn), payloadName+".zst")
	orig, _ := os.ReadFile(payload)
	os.WriteFile(payload, append(orig[:len(orig)-1:len(orig)-1], orig[len(orig)-1]^1), 0o644)
	var ie *store.IntegrityError
	err := e.run(module.Restore, comp)
	if !errors.As(err, &ie) {
		t.Errorf("restore of a damaged snapshot: err = %v, want a store.IntegrityError", err)
	}
	check("restore of a damaged snapshot", err, "checksum mismatch")
	os.WriteFile(payload, orig, 0o644)

	// A snapshot with a valid checksum whose database is broken: a real
	// database with one page of its table overwritten.
	good, _ := os.ReadFile(e.dbPath(comp))
	bad := append([]byte(nil), good...)
	for i := 4096; i < 8192 && i < len(bad); i++ {
		bad[i] = 0x55
	}
	_, err = e.store.Commit(context.Background(), key, store.Meta{Module: Type}, func(d *store.Dump) error {
		w, err := d.Create(payloadName)
		if err != nil {
			return err
		}
		w.Write(bad)
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	check("restore of a broken database", e.run(module.Restore, comp), "malformed")

	// Not a database at all.
	_, err = e.store.Commit(context.Background(), key, store.Meta{Module: Type}, func(d *store.Dump) error {
		w, _ := d.Create(payloadName)
		w.Write([]byte("this is no database, just text, and more text to fill a header"))
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	check("restore of a non-database", e.run(module.Restore, comp), "not a database")

	// A snapshot of another module.
	_, err = e.store.Commit(context.Background(), key, store.Meta{Module: "echo"}, func(d *store.Dump) error {
		w, _ := d.Create("dump.sql")
		w.Write([]byte("SELECT 1;"))
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	check("restore of a foreign snapshot", e.run(module.Restore, comp), "holds no db.sqlite")
}

func TestCollectGarbageOnlyAfterDeactivate(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb", "01.sql", "CREATE TABLE test (msg TEXT); INSERT INTO test VALUES ('Hello world');")
	e.must(module.Deactivate, comp) // never activated: nothing to do
	e.must(module.Activate, comp)
	e.must(module.CollectGarbage, comp)
	if _, err := os.Stat(e.dbPath(comp)); err != nil {
		t.Fatalf("collect-garbage of an active component removed its database: %v", err)
	}

	e.must(module.Deactivate, comp)
	e.must(module.Deactivate, comp)
	if _, err := os.Stat(e.dbPath(comp)); err != nil {
		t.Fatalf("deactivate removed the database: %v", err)
	}
	for _, suf := range []string{"-wal", "-shm"} { // as a crashed application leaves them
		os.WriteFile(e.dbPath(comp)+suf, nil, 0o644)
	}
	e.must(module.CollectGarbage, comp)
	if ents := e.dirEntries(); len(ents) != 0 {
		t.Errorf("collect-garbage left %q", ents)
	}
	if g, _ := e.store.IsGarbage(e.request(module.Activate, comp).Key()); g {
		t.Error("the garbage marker survived collect-garbage")
	}

	// Activate starts again from the init scripts.
	e.must(module.Activate, comp)
	if diff := cmp.Diff(map[string][][]any{"test": {{"Hello world"}}}, rows(t, e.open(comp))); diff != "" {
		t.Errorf("database after re-activation (-want +got):\n%s", diff)
	}
}

// TestComponentNamesNeedingCare runs every activity on components whose
// names hold spaces, dashes and the characters that mean something in a
// file: URI.
func TestComponentNamesNeedingCare(t *testing.T) {
	for _, name := range []string{"my db-1", "-leading-dash", "odd #?%&=;name", "größe"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			comp := e.component(name, "01.sql", "CREATE TABLE test (msg TEXT); INSERT INTO test VALUES ('Hello world');")
			e.must(module.Activate, comp)
			if diff := cmp.Diff([]string{name + ".sqlite"}, e.dirEntries()); diff != "" {
				t.Fatalf("database directory (-want +got):\n%s", diff)
			}
			db := e.open(comp)
			e.must(module.Snapshot, comp)
			e.exec(db, "DELETE FROM test")
			e.must(module.Restore, comp)
			if diff := cmp.Diff(map[string][][]any{"test": {{"Hello world"}}}, rows(t, db)); diff != "" {
				t.Errorf("restored database (-want +got):\n%s", diff)
			}
			db.Close()
			e.must(module.Deactivate, comp)
			e.must(module.CollectGarbage, comp)
			if ents := e.dirEntries(); len(ents) != 0 {
				t.Errorf("collect-garbage left %q", ents)
			}
		})
	}
}

func TestLockUnlockDoNothing(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb")
	e.must(module.Lock, comp)
	e.must(module.Unlock, comp)
	if ents := e.dirEntries(); len(ents) != 0 {
		t.Errorf("lock/unlock created %q", ents)
	}
}

func TestShell(t *testing.T) {
	e := newEnv(t)
	comp := e.component("testdb")
	req := e.request(module.Shell, comp)
	if err := (Module{}).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if help := req.Stderr.(*bytes.Buffer).String(); !strings.Contains(help, e.dbPath(comp)) || !strings.Contains(help, "$SQLITE_DATABASE") {
		t.Errorf("shell help does not name the database:\n%s", help)
	}
	got, err := Module{}.ShellEnv(req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"SQLITE_DATABASE=" + e.dbPath(comp)}, got); diff != "" {
		t.Errorf("shell environment (-want +got):\n%s", diff)
	}
}
