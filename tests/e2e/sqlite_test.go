package e2e

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

// sqliteSetup writes a container file for the sqlite-database module (its
// database directory has a space in its name) and a component testdb with
// two init scripts.
func sqliteSetup(t *testing.T) (container, comp, dbFile string) {
	t.Helper()
	root := t.TempDir()
	dbDir := filepath.Join(root, "data dir")
	container = filepath.Join(root, "containers", "sqlite-container")
	os.MkdirAll(filepath.Dir(container), 0o755)
	sqliteWriteFile(t, container, "type=sqlite-database\nsqliteDatabaseDir=\""+dbDir+"\"\nsqliteJournalMode=WAL\n")
	comp = filepath.Join(root, "pkgs", "testdb")
	sqliteWriteFile(t, filepath.Join(comp, "sqlite-databases", "01-schema.sql"), "CREATE TABLE test (msg TEXT NOT NULL);\n")
	sqliteWriteFile(t, filepath.Join(comp, "sqlite-databases", "02-data.sql"), "INSERT INTO test VALUES ('Hello world');\n")
	return container, comp, filepath.Join(dbDir, "testdb.sqlite")
}

func sqliteWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sqliteQuery returns the messages in the database file, in insertion
// order, through a connection of its own (as the application would).
func sqliteQuery(t *testing.T, dbFile string, stmts ...string) []string {
	t.Helper()
	u := url.URL{Path: dbFile}
	db, err := sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	rows, err := db.Query("SELECT msg FROM test ORDER BY rowid")
	if err != nil {
		t.Fatalf("query %s: %v", dbFile, err)
	}
	defer rows.Close()
	msgs := []string{}
	for rows.Next() {
		var m string
		rows.Scan(&m)
		msgs = append(msgs, m)
	}
	return msgs
}

func sqliteGenerations(t *testing.T, stateDir, container, comp string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(stateDir, "generations", container, comp))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents)
}

// TestSqliteDatabase is the upstream database scenario (activate, snapshot
// counts, gc only after deactivate, restore) for sqlite-database, through
// the binary with a container file.
func TestSqliteDatabase(t *testing.T) {
	env, state := StateEnv(t)
	container, comp, dbFile := sqliteSetup(t)
	act := func(verb string) Result {
		t.Helper()
		return MustRun(t, env, "dysnomia", verb, "--component", comp, "--container", container)
	}
	gens := func() int { return sqliteGenerations(t, state, "sqlite-container", "testdb") }

	act("activate")
	if diff := cmp.Diff([]string{"Hello world"}, sqliteQuery(t, dbFile)); diff != "" {
		t.Fatalf("after activate (-want +got):\n%s", diff)
	}
	act("activate")
	if diff := cmp.Diff([]string{"Hello world"}, sqliteQuery(t, dbFile)); diff != "" {
		t.Fatalf("a second activate imported again (-want +got):\n%s", diff)
	}

	act("snapshot")
	// The upstream spelling of the same activity.
	MustRun(t, env, "dysnomia", "--operation", "snapshot", "--component", comp, "--container", container)
	if n := gens(); n != 1 {
		t.Fatalf("generations after two snapshots of unchanged data = %d, want 1", n)
	}
	sqliteQuery(t, dbFile, "INSERT INTO test VALUES ('Bye world')")
	act("snapshot")
	if n := gens(); n != 2 {
		t.Fatalf("generations after a changed snapshot = %d, want 2", n)
	}

	sqliteQuery(t, dbFile, "DELETE FROM test")
	act("restore")
	if diff := cmp.Diff([]string{"Hello world", "Bye world"}, sqliteQuery(t, dbFile)); diff != "" {
		t.Fatalf("after restore (-want +got):\n%s", diff)
	}

	act("collect-garbage")
	if _, err := os.Stat(dbFile); err != nil {
		t.Fatalf("collect-garbage of an active component removed the database: %v", err)
	}
	act("deactivate")
	act("deactivate")
	act("collect-garbage")
	if _, err := os.Stat(dbFile); !os.IsNotExist(err) {
		t.Fatalf("database after deactivate and collect-garbage: %v; want it gone", err)
	}

	act("activate")
	if diff := cmp.Diff([]string{"Hello world"}, sqliteQuery(t, dbFile)); diff != "" {
		t.Fatalf("after re-activation (-want +got):\n%s", diff)
	}
	act("restore")
	if diff := cmp.Diff([]string{"Hello world", "Bye world"}, sqliteQuery(t, dbFile)); diff != "" {
		t.Fatalf("after restore of the latest snapshot (-want +got):\n%s", diff)
	}

	out := filepath.Join(t.TempDir(), "out")
	MustRun(t, env, "dysnomia", "shell", "--component", comp, "--container", container, "--command", `echo "$SQLITE_DATABASE" > "`+out+`"`)
	if got, _ := os.ReadFile(out); strings.TrimSpace(string(got)) != dbFile {
		t.Errorf("SQLITE_DATABASE in the shell = %q, want %q", got, dbFile)
	}
}

// TestSqliteFailingInitScript: a broken init script fails activate with an
// error naming the script and line, and leaves no database file.
func TestSqliteFailingInitScript(t *testing.T) {
	env, _ := StateEnv(t)
	container, comp, dbFile := sqliteSetup(t)
	sqliteWriteFile(t, filepath.Join(comp, "sqlite-databases", "03-broken.sql"), "INSERT INTO test VALUES ('fine');\nINSERT INTO tset VALUES ('typo');\n")
	r := Run(t, env, "dysnomia", "activate", "--component", comp, "--container", container)
	if r.Code != 1 {
		t.Fatalf("activate with a broken init script: exit %d, want 1\nstderr:\n%s", r.Code, r.Stderr)
	}
	want := "dysnomia: error: activate sqlite database \"testdb\" in container sqlite-container: init script " +
		filepath.Join(comp, "sqlite-databases", "03-broken.sql") + ", line 2: INSERT INTO tset VALUES ('typo');: "
	if !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "no such table: tset") {
		t.Errorf("stderr does not explain the failure:\n%s\nwant it to contain %q", r.Stderr, want)
	}
	ents, _ := os.ReadDir(filepath.Dir(dbFile))
	if len(ents) != 0 {
		t.Errorf("a failed activate left files in the database directory: %v", ents)
	}
}

// TestSqliteDisnixCall runs the command line Disnix uses, with the container
// properties in the environment.
func TestSqliteDisnixCall(t *testing.T) {
	env, state := StateEnv(t)
	_, comp, _ := sqliteSetup(t)
	dbDir := t.TempDir()
	env = append(env, "sqliteDatabaseDir="+dbDir)
	for _, op := range []string{"activate", "snapshot"} {
		MustRun(t, env, "dysnomia", "--type", "sqlite-database", "--operation", op, "--component", comp, "--container", "sqlite-database", "--environment")
	}
	if diff := cmp.Diff([]string{"Hello world"}, sqliteQuery(t, filepath.Join(dbDir, "testdb.sqlite"))); diff != "" {
		t.Errorf("database (-want +got):\n%s", diff)
	}
	if n := sqliteGenerations(t, state, "sqlite-database", "testdb"); n != 1 {
		t.Errorf("generations = %d, want 1", n)
	}
}

// TestSqliteRestoreNamedSnapshot: restore --snapshot puts back an older
// generation, named by its id or as snapshots list prints it; a snapshot of
// another component is refused and the database is left as it was.
func TestSqliteRestoreNamedSnapshot(t *testing.T) {
	env, _ := StateEnv(t)
	container, comp, dbFile := sqliteSetup(t)
	act := func(verb string, args ...string) Result {
		t.Helper()
		return Run(t, env, "dysnomia", append([]string{verb, "--component", comp, "--container", container}, args...)...)
	}
	must := func(verb string, args ...string) {
		t.Helper()
		if r := act(verb, args...); r.Code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", verb, args, r.Code, r.Stderr)
		}
	}
	must("activate")
	must("snapshot")
	sqliteQuery(t, dbFile, "INSERT INTO test VALUES ('Bye world')")
	must("snapshot")
	list := strings.Fields(MustRun(t, env, "dysnomia", "snapshots", "list").Stdout)
	if len(list) != 2 {
		t.Fatalf("snapshots list = %q, want two generations", list)
	}
	first := list[0]
	firstID, ok := strings.CutPrefix(first, "sqlite-container/testdb/")
	if !ok {
		t.Fatalf("snapshots list printed %q, want sqlite-container/testdb/<id>", first)
	}

	for _, name := range []string{first, firstID} {
		sqliteQuery(t, dbFile, "INSERT INTO test VALUES ('later')")
		must("restore", "--snapshot", name)
		if diff := cmp.Diff([]string{"Hello world"}, sqliteQuery(t, dbFile)); diff != "" {
			t.Fatalf("after restore --snapshot %s (-want +got):\n%s", name, diff)
		}
	}

	sqliteQuery(t, dbFile, "INSERT INTO test VALUES ('kept')")
	r := act("restore", "--snapshot", "sqlite-container/otherdb/"+firstID)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not one of this component's") {
		t.Fatalf("restore of another component's snapshot: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	if diff := cmp.Diff([]string{"Hello world", "kept"}, sqliteQuery(t, dbFile)); diff != "" {
		t.Fatalf("a refused restore changed the database (-want +got):\n%s", diff)
	}
}
