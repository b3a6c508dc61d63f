package mysql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/mysqltest"
)

// richScripts make a database with the things a restore must carry:
// foreign keys, binary and Unicode data, NULLs, a trigger, views (one on
// another).
var richScripts = map[string]string{
	"01-schema.sql": `CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(50) CHARACTER SET utf8mb4) ENGINE=InnoDB;
CREATE TABLE child (
  id INT PRIMARY KEY AUTO_INCREMENT,
  parent_id INT,
  note TEXT,
  data BLOB,
  amount DECIMAL(12,3),
  at DATETIME(6),
  FOREIGN KEY (parent_id) REFERENCES parent (id)
) ENGINE=InnoDB;
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(100)) ENGINE=InnoDB;
CREATE TRIGGER child_ins AFTER INSERT ON child FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('child ', NEW.id));
CREATE VIEW child_names AS SELECT c.id, p.name FROM child c JOIN parent p ON p.id = c.parent_id;
CREATE VIEW name_count AS SELECT COUNT(*) AS n FROM child_names;
`,
}

func fillRich(e *env) {
	e.t.Helper()
	e.exec("INSERT INTO $db.parent VALUES (1, 'Zoë 😀'), (2, 'plain'), (3, NULL)")
	e.exec("INSERT INTO $db.child (parent_id, note, data, amount, at) VALUES (?, ?, ?, ?, ?)",
		1, "line1\nline2\r\n'quoted' \\ back`tick", []byte{0, 13, 10, '\'', '\\', 0xff, 0x1a}, "12.345", "2024-02-29 23:59:59.123456")
	e.exec("INSERT INTO $db.child (parent_id, note, data, amount, at) VALUES (2, NULL, NULL, NULL, NULL), (3, '', '', 0, '1970-01-01 00:00:01')")
}

// state is everything a restore must reproduce, read row by row.
type state struct {
	Tables   map[string]string     // SHOW CREATE TABLE
	Rows     map[string][][]string // every row of every table and view
	Views    map[string]string     // view definitions
	Triggers map[string]string     // trigger statements
}

func readState(e *env) state {
	e.t.Helper()
	s := state{Tables: map[string]string{}, Rows: map[string][][]string{}, Views: map[string]string{}, Triggers: map[string]string{}}
	for _, r := range e.rows("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", e.name) {
		q := "SELECT * FROM $db." + quoteIdent(r[0])
		if r[1] != "VIEW" {
			s.Tables[r[0]] = e.rows("SHOW CREATE TABLE $db." + quoteIdent(r[0]))[0][1]
			q += " ORDER BY 1"
		}
		s.Rows[r[0]] = e.rows(q)
	}
	for _, r := range e.rows("SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", e.name) {
		s.Views[r[0]] = r[1]
	}
	for _, r := range e.rows("SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", e.name) {
		s.Triggers[r[0]] = r[1]
	}
	return s
}

func TestRestoreRoundTrip(t *testing.T) {
	e := newEnv(t, "rt-db", richScripts)
	e.must(module.Activate)
	fillRich(e)
	want := readState(e)
	if len(want.Rows["child"]) != 3 || len(want.Rows["audit"]) != 3 || len(want.Triggers) != 1 || len(want.Views) != 2 {
		t.Fatalf("test setup: unexpected state %+v", want)
	}
	e.must(module.Snapshot)

	// Change everything: data, tables, views, triggers.
	e.exec("UPDATE $db.parent SET name = 'changed' WHERE id = 1")
	e.exec("DELETE FROM $db.child WHERE id = 2")
	e.exec("INSERT INTO $db.child (parent_id, note) VALUES (2, 'new')")
	e.exec("CREATE TABLE $db.extra (x INT)")
	e.exec("INSERT INTO $db.extra VALUES (1)")
	e.exec("CREATE VIEW $db.extra_v AS SELECT 1 AS one")
	e.exec("DROP VIEW $db.name_count")
	e.exec("DROP TRIGGER $db.child_ins")
	e.exec("CREATE TRIGGER $db.parent_upd BEFORE UPDATE ON $db.parent FOR EACH ROW SET NEW.name = UPPER(NEW.name)")
	if diff := cmp.Diff(want, readState(e)); diff == "" {
		t.Fatal("test setup: the changes did not change the state")
	}

	e.must(module.Restore)
	if diff := cmp.Diff(want, readState(e)); diff != "" {
		t.Errorf("state after restore (-snapshot +restored):\n%s", diff)
	}
	// The trigger works on the restored tables, the views read them.
	e.exec("INSERT INTO $db.child (parent_id, note) VALUES (2, 'after')")
	if got := e.rows("SELECT what FROM $db.audit ORDER BY id DESC LIMIT 1"); got[0][0] != "child 4" {
		t.Errorf("trigger after restore wrote %v, want child 4", got)
	}
	if got := e.rows("SELECT n FROM $db.name_count"); got[0][0] != "4" {
		t.Errorf("view on view after restore = %v, want 4", got)
	}
	if w := workDatabases(t, e.srv); len(w) != 0 {
		t.Errorf("work databases left behind: %v", w)
	}
}

// Restoring a component whose database was dropped creates it.
func TestRestoreIntoMissingDatabase(t *testing.T) {
	e := newEnv(t, "rt-missing", helloScripts)
	e.must(module.Activate)
	want := readState(e)
	e.must(module.Snapshot)
	e.exec("DROP DATABASE $db")
	e.must(module.Restore)
	if diff := cmp.Diff(want, readState(e)); diff != "" {
		t.Errorf("state after restore (-want +got):\n%s", diff)
	}
}

func TestRestoreWithoutSnapshotIsNoop(t *testing.T) {
	e := newEnv(t, "rt-none", helloScripts)
	e.must(module.Activate)
	want := readState(e)
	e.must(module.Restore)
	if diff := cmp.Diff(want, readState(e)); diff != "" {
		t.Errorf("restore without a snapshot changed the database:\n%s", diff)
	}
}

// commitDump stores an arbitrary dump as a snapshot of e and returns its id.
func commitDump(t *testing.T, e *env, dump []byte) string {
	t.Helper()
	res, err := e.store.Commit(context.Background(), store.Key{Container: Type, Component: e.name}, store.Meta{Module: Type}, func(d *store.Dump) error {
		w, err := d.Create(DumpFile)
		if err != nil {
			return err
		}
		w.Write(dump)
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// realDump dumps e's database with the plain tool, as upstream does (the
// completion line, with its date, dropped).
func realDump(t *testing.T, e *env) []byte {
	t.Helper()
	bins := mysqltest.Require(t)
	out, err := exec.Command(bins.Dump, "--no-defaults", "--socket="+e.srv.Socket, "--user=root", "--single-transaction", "--quick", "--", e.name).Output()
	if err != nil {
		t.Fatalf("mariadb-dump: %v", err)
	}
	out = bytes.TrimSuffix(out, []byte{'\n'})
	return out[:bytes.LastIndexByte(out, '\n')+1] // upstream: head -n -1
}

func TestFailingRestoreKeepsData(t *testing.T) {
	e := newEnv(t, "rt-fail", richScripts)
	e.must(module.Activate)
	fillRich(e)
	good := realDump(t, e)
	e.exec("INSERT INTO $db.parent VALUES (9, 'current')")
	want := readState(e)

	// An SQL error in the middle of an otherwise good dump.
	i := bytes.Index(good, []byte("\nINSERT INTO `child`"))
	bad := append(append(append([]byte{}, good[:i+1]...), "INSERT INTO `nosuchtable` VALUES (1);\n"...), good[i+1:]...)
	badLine := bytes.Count(good[:i+1], []byte{'\n'}) + 1
	// A dump that would switch to another database.
	other := "rt-fail-other"
	e.srv.Exec(t, "CREATE DATABASE "+quoteIdent(other))
	t.Cleanup(func() { e.srv.DB().Exec("DROP DATABASE IF EXISTS " + quoteIdent(other)) })
	switching := append([]byte("CREATE TABLE `x` (a INT);\nUSE `"+other+"`;\nCREATE TABLE `y` (a INT);\n"), good...)

	for _, tc := range []struct {
		name string
		dump []byte
		want []string
	}{
		{"sql error", bad, []string{fmt.Sprintf("at line %d", badLine), "nosuchtable", "was not changed"}},
		{"switches database", switching, []string{"changes databases at line 2", "was not changed"}},
		{"truncated", good[:len(good)/2], []string{"was not changed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := commitDump(t, e, tc.dump)
			req := e.request(module.Restore)
			req.Snapshot = id
			err := Module{}.Run(context.Background(), req)
			if err == nil {
				if tc.name == "truncated" {
					t.Skip("the cut happened to fall between statements") // not an error then
				}
				t.Fatal("restore succeeded")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q", w)
				}
			}
			if diff := cmp.Diff(want, readState(e)); diff != "" {
				t.Errorf("a failed restore changed the database (-before +after):\n%s", diff)
			}
			if w := workDatabases(t, e.srv); len(w) != 0 {
				t.Errorf("work databases left behind: %v", w)
			}
		})
	}
	// A failed restore of a component without a database creates none.
	missing := newEnv(t, "rt-fail-missing", nil)
	mreq := missing.request(module.Restore)
	mreq.Snapshot = commitDump(t, missing, bad)
	if err := (Module{}).Run(context.Background(), mreq); err == nil {
		t.Error("restore of a bad dump into a missing database succeeded")
	}
	if missing.exists() {
		t.Error("a failed restore created the database")
	}
	if got := e.srv.Rows(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", other); got[0][0] != "0" {
		t.Errorf("the switching dump created tables in %q", other)
	}

	// A snapshot whose content no longer matches its checksum is refused
	// before anything happens.
	id := commitDump(t, e, good)
	dir := e.store.SnapshotDir(store.Snapshot{Key: store.Key{Container: Type, Component: e.name}, ID: id})
	f := filepath.Join(dir, DumpFile+".zst")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	os.WriteFile(f, data, 0o644)
	req := e.request(module.Restore)
	req.Snapshot = id
	err = Module{}.Run(context.Background(), req)
	var ie *store.IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("restore of a corrupted snapshot: %v; want an integrity error", err)
	}
	if diff := cmp.Diff(want, readState(e)); diff != "" {
		t.Errorf("a refused restore changed the database:\n%s", diff)
	}
}

// A store written by upstream Dysnomia: snapshots/<c>/<comp>/<sha256>/
// dump.sql.xz, a hex checksum over upstream's directory serialisation, a
// relative generation link.
func TestRestoreFromUpstreamStore(t *testing.T) {
	e := newEnv(t, "testdb-up", richScripts)
	e.must(module.Activate)
	fillRich(e)
	want := readState(e)

	var xzBuf bytes.Buffer
	zw, err := xz.NewWriter(&xzBuf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(realDump(t, e))
	zw.Close()
	sum := sha256.Sum256(xzBuf.Bytes())
	id := hex.EncodeToString(sum[:])
	root := e.store.Dir()
	snapDir := filepath.Join(root, "snapshots", Type, e.name, id)
	mustWrite(t, filepath.Join(snapDir, "dump.sql.xz"), xzBuf.Bytes())
	stream := sha256.Sum256(append([]byte(".\n./dump.sql.xz\n\n"), xzBuf.Bytes()...))
	mustWrite(t, filepath.Join(root, "checksums", Type, e.name, id), []byte("sha256:"+hex.EncodeToString(stream[:])))
	gens := filepath.Join(root, "generations", Type, e.name)
	os.MkdirAll(gens, 0o755)
	if err := os.Symlink("../../../snapshots/"+Type+"/"+e.name+"/"+id, filepath.Join(gens, "1")); err != nil {
		t.Fatal(err)
	}

	e.exec("DELETE FROM $db.child")
	e.exec("CREATE TABLE $db.later (x INT)")
	e.must(module.Restore)
	if diff := cmp.Diff(want, readState(e)); diff != "" {
		t.Errorf("state after restoring upstream's snapshot (-want +got):\n%s", diff)
	}
	if w := e.report.warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A dump cut cleanly between two statements has a valid checksum
// (upstream's store checksummed whatever the dump tool wrote) and loads
// without an error: a table would silently go missing. Restore refuses it
// with an integrity error and changes nothing; ours, whole, restores.
func TestRestoreRefusesCutDump(t *testing.T) {
	e := newEnv(t, "rt-cut", richScripts)
	e.must(module.Activate)
	fillRich(e)
	full := realDump(t, e) // upstream's form: the trailer line dropped
	want := readState(e)

	i := bytes.Index(full, []byte("\n--\n-- Table structure for table `parent`"))
	if i < 0 {
		i = bytes.LastIndex(full, []byte("\nUNLOCK TABLES;\n"))
	}
	if i < 0 {
		t.Fatalf("no statement boundary to cut at in:\n%s", full)
	}
	for _, tc := range []struct {
		name string
		dump []byte
	}{
		{"dump cut after a table", full[:i+1]},
		{"dump cut inside the data", full[:bytes.LastIndex(full, []byte("\nUNLOCK TABLES;\n"))+1]},
	} {
		var zbuf bytes.Buffer
		zw, _ := xz.NewWriter(&zbuf)
		zw.Write(tc.dump)
		zw.Close()
		sum := sha256.Sum256(zbuf.Bytes())
		id := hex.EncodeToString(sum[:])
		root := e.store.Dir()
		mustWrite(t, filepath.Join(root, "snapshots", Type, e.name, id, "dump.sql.xz"), zbuf.Bytes())
		stream := sha256.Sum256(append([]byte(".\n./dump.sql.xz\n\n"), zbuf.Bytes()...))
		mustWrite(t, filepath.Join(root, "checksums", Type, e.name, id), []byte("sha256:"+hex.EncodeToString(stream[:])))
		gens := filepath.Join(root, "generations", Type, e.name)
		os.MkdirAll(gens, 0o755)
		n, _ := os.ReadDir(gens)
		if err := os.Symlink("../../../snapshots/"+Type+"/"+e.name+"/"+id, filepath.Join(gens, strconv.Itoa(len(n)+1))); err != nil {
			t.Fatal(err)
		}
		err := e.run(module.Restore)
		var ie *store.IntegrityError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: restore: %v, want an integrity error", tc.name, err)
		}
		if diff := cmp.Diff(want, readState(e)); diff != "" {
			t.Errorf("%s: the refused restore changed the database (-want +got):\n%s", tc.name, diff)
		}
		if w := workDatabases(t, e.srv); len(w) != 0 {
			t.Errorf("%s: work databases left: %v", tc.name, w)
		}
	}
	// The same data, snapshotted by the module, restores.
	e.must(module.Snapshot)
	e.exec("DELETE FROM $db.child")
	e.must(module.Restore)
	if diff := cmp.Diff(want, readState(e)); diff != "" {
		t.Errorf("after restoring a whole snapshot (-want +got):\n%s", diff)
	}
}
