package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/dysnomia-go/dysnomia/internal/testutil/mysqltest"
)

// myComponent makes a component in a fake Nix store (NIX_STORE_DIR) under a
// temporary directory: <store>/<hash>-<name>/mysql-databases/*.sql.
func myComponent(t *testing.T, name string, scripts map[string]string) (path, storeDir string) {
	t.Helper()
	storeDir = t.TempDir()
	path = filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-"+name)
	for f, content := range scripts {
		myWrite(t, filepath.Join(path, "mysql-databases", f), content)
	}
	os.MkdirAll(path, 0o755)
	return path, storeDir
}

func myWrite(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// myDisnix runs dysnomia the way Disnix does for an activity, with the
// container properties in the environment.
func myDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	return Run(t, env, "dysnomia", "--type", "mysql-database", "--operation", op,
		"--component", comp, "--container", "mysql-database", "--environment")
}

func myMustDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	r := myDisnix(t, env, op, comp)
	if r.Code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", op, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func myCount(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// myMsgs lists test.msg of database db, sorted, joined by commas; "" with
// an error when the query fails.
func myMsgs(srv *mysqltest.Server, db string) (string, error) {
	rows, err := srv.QueryRows("SELECT msg FROM " + mysqltest.Ident(db) + ".test ORDER BY msg")
	var msgs []string
	for _, r := range rows {
		msgs = append(msgs, r[0])
	}
	return strings.Join(msgs, ","), err
}

var myTestdb = map[string]string{
	"testdb.sql": "CREATE TABLE test (msg VARCHAR(100) NOT NULL) ENGINE=InnoDB;\nINSERT INTO test VALUES ('Hello world');\n",
}

// TestMysqlUpstreamScenario is upstream's mysql-database test, through the
// built binary called as Disnix calls it, with upstream's properties
// (mysqlUsername=root and mysqlPassword).
func TestMysqlUpstreamScenario(t *testing.T) {
	srv := mysqltest.Start(t)
	var b [8]byte
	rand.Read(b[:])
	pw := "upstream-" + hex.EncodeToString(b[:])
	// root accepts the password, and still the socket (for the test's own
	// queries).
	srv.Exec(t, "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('"+pw+"') OR unix_socket")

	comp, storeDir := myComponent(t, "testdb", myTestdb)
	env, stateDir := StateEnv(t)
	env = append(env, "mysqlSocket="+srv.Socket, "mysqlUsername=root", "mysqlPassword="+pw, "NIX_STORE_DIR="+storeDir)
	snaps := filepath.Join(stateDir, "snapshots", "mysql-database", "testdb")
	rows := func() string {
		t.Helper()
		got, err := myMsgs(srv, "testdb")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(r Result) {
		t.Helper()
		if strings.Contains(r.Stdout+r.Stderr, pw) {
			t.Errorf("the password appears in the output:\n%s%s", r.Stdout, r.Stderr)
		}
	}

	r := myMustDisnix(t, env, "activate", comp)
	check(r)
	if !strings.Contains(r.Stderr, "mysqlPasswordFile") {
		t.Errorf("no advice to use mysqlPasswordFile on stderr:\n%s", r.Stderr)
	}
	if got := rows(); got != "Hello world" {
		t.Fatalf("after activate: %q", got)
	}
	check(myMustDisnix(t, env, "activate", comp))
	if got := rows(); got != "Hello world" {
		t.Fatalf("after a second activate: %q (re-imported?)", got)
	}

	check(myMustDisnix(t, env, "snapshot", comp))
	if n := myCount(t, snaps); n != 1 {
		t.Fatalf("snapshots after the first snapshot = %d, want 1", n)
	}
	check(myMustDisnix(t, env, "snapshot", comp))
	if n := myCount(t, snaps); n != 1 {
		t.Fatalf("snapshots after an unchanged snapshot = %d, want 1", n)
	}
	srv.Exec(t, "INSERT INTO testdb.test VALUES ('Bye world')")
	check(myMustDisnix(t, env, "snapshot", comp))
	if n := myCount(t, snaps); n != 2 {
		t.Fatalf("snapshots after a change = %d, want 2", n)
	}

	check(myMustDisnix(t, env, "collect-garbage", comp))
	if got := rows(); got != "Bye world,Hello world" {
		t.Fatalf("gc while active changed the database: %q", got)
	}
	check(myMustDisnix(t, env, "deactivate", comp))
	check(myMustDisnix(t, env, "deactivate", comp))
	check(myMustDisnix(t, env, "collect-garbage", comp))
	if _, err := myMsgs(srv, "testdb"); err == nil {
		t.Fatal("the database still answers after deactivate and gc")
	}

	check(myMustDisnix(t, env, "activate", comp))
	if got := rows(); got != "Hello world" {
		t.Fatalf("after re-activation: %q, want the initial state", got)
	}
	check(myMustDisnix(t, env, "restore", comp))
	if got := rows(); got != "Bye world,Hello world" {
		t.Fatalf("after restore: %q, want the latest snapshot", got)
	}

	// Lock and unlock, as Disnix calls them (no properties: the default
	// socket, where no server runs, so nothing can be restoring).
	for _, op := range []string{"lock", "unlock"} {
		r := Run(t, myWithoutProps(env), "dysnomia", "--type", "mysql-database", "--operation", op,
			"--container", "mysql-database", "--component", comp, "--environment")
		if r.Code != 0 {
			t.Errorf("%s: exit %d\n%s", op, r.Code, r.Stderr)
		}
	}
}

// myWithoutProps drops the container properties from a Disnix environment.
func myWithoutProps(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "mysql") {
			out = append(out, kv)
		}
	}
	return out
}

// TestMysqlSnapshotsScenario is upstream's "snapshots" acceptance scenario,
// with its mysql-database container: a container file named
// mysql-container given to dysnomia by path, and to dysnomia-snapshots by
// name.
func TestMysqlSnapshotsScenario(t *testing.T) {
	srv := mysqltest.Start(t)
	env, state := StateEnv(t)
	root := t.TempDir()
	container := filepath.Join(root, "containers", "mysql-container")
	myWrite(t, container, "type=mysql-database\nmysqlSocket="+srv.Socket+"\n")
	comp := filepath.Join(root, "pkgs", "testdb")
	for f, c := range myTestdb {
		myWrite(t, filepath.Join(comp, "mysql-databases", f), c)
	}
	activity := func(op string) {
		t.Helper()
		MustRun(t, env, "dysnomia", "--operation", op, "--component", comp, "--container", container)
	}
	snapshots := func(args ...string) []string {
		t.Helper()
		var out []string
		for _, l := range strings.Split(MustRun(t, env, "dysnomia-snapshots", args...).Stdout, "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	one := func(args ...string) string {
		t.Helper()
		l := snapshots(args...)
		if len(l) != 1 {
			t.Fatalf("dysnomia-snapshots %v printed %v, want one line", args, l)
		}
		return l[0]
	}
	latest := func() string { return one("--query-latest", "--container", "mysql-container", "--component", comp) }
	resolve := func(rel string) string { return one("--resolve", rel) }
	queryAll := func(extra ...string) []string {
		return snapshots(append([]string{"--query-all", "--container", "mysql-container", "--component", comp}, extra...)...)
	}
	dump := func(rel string) []byte { return myDumpOf(t, resolve(rel)) }
	sql := func(stmt string) { srv.Exec(t, stmt) }
	genDir := filepath.Join(state, "generations", "mysql-container", "testdb")

	// 1. Three snapshots of different data.
	activity("activate")
	activity("snapshot")
	sql("INSERT INTO testdb.test VALUES ('Two')")
	activity("snapshot")
	sql("INSERT INTO testdb.test VALUES ('Three')")
	activity("snapshot")
	if got := queryAll(); len(got) != 3 {
		t.Fatalf("--query-all after three snapshots: %v", got)
	}
	if !bytes.Contains(dump(latest()), []byte("Three")) {
		t.Error("the latest snapshot lacks Three")
	}
	activity("snapshot") // unchanged
	if n := myCount(t, genDir); n != 3 {
		t.Errorf("%d generation links after an unchanged snapshot, want 3", n)
	}

	// 2. print-missing.
	if got := snapshots("--print-missing", latest(), "mysql-container/testdb/foo"); strings.Join(got, ",") != "mysql-container/testdb/foo" {
		t.Errorf("--print-missing printed %v", got)
	}

	// 3. gc keeps the latest.
	snapshots("--gc")
	if got := queryAll(); len(got) != 1 {
		t.Errorf("--query-all after --gc: %v", got)
	}
	three := latest()
	threeDir := resolve(three)

	// 4. Copy the latest away, gc --keep 0, import the copy back.
	saved := filepath.Join(t.TempDir(), filepath.Base(threeDir))
	if out, err := exec.Command("cp", "-a", threeDir, saved).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	snapshots("--gc", "--keep", "0")
	if got := queryAll(); len(got) != 0 {
		t.Errorf("--query-all after --gc --keep 0: %v", got)
	}
	snapshots("--import", "-C", "mysql-container", "-c", comp, saved)
	if got := latest(); got != three || resolve(got) != threeDir || !bytes.Contains(dump(got), []byte("Three")) {
		t.Errorf("after --import the latest is %s, want %s holding Three", got, three)
	}

	// 5. Four, then back to the state without it: a new generation
	// pointing at the old snapshot, which gc keeps.
	sql("INSERT INTO testdb.test VALUES ('Four')")
	activity("snapshot")
	if got := queryAll(); len(got) != 2 {
		t.Errorf("--query-all after Four: %v", got)
	}
	sql("DELETE FROM testdb.test WHERE msg = 'Four'")
	activity("snapshot")
	if got := queryAll(); len(got) != 3 || got[2] != three {
		t.Errorf("--query-all after removing Four: %v, want a third generation pointing at %s", got, three)
	}
	snapshots("--gc")
	if got := latest(); got != three || bytes.Contains(dump(got), []byte("Four")) {
		t.Errorf("after gc the latest is %s", got)
	}

	// 6. Importing the stored latest path changes nothing.
	snapshots("--import", "-C", "mysql-container", "-c", comp, resolve(three))
	if got := queryAll(); len(got) != 1 || got[0] != three {
		t.Errorf("after re-importing the latest path: %v", got)
	}

	// The snapshot restores: the database gets back exactly its rows.
	sql("INSERT INTO testdb.test VALUES ('Five')")
	sql("CREATE TABLE testdb.later (x INT)")
	activity("restore")
	if got, _ := myMsgs(srv, "testdb"); got != "Hello world,Three,Two" {
		t.Errorf("after restore: %q", got)
	}
	if srv.Rows(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'testdb'")[0][0] != "1" {
		t.Errorf("restore kept a table the snapshot does not have")
	}

	// 7. Check, then damage the latest dump.
	activity("deactivate")
	queryAll("--check")
	dir := resolve(three)
	entries, _ := os.ReadDir(dir)
	os.WriteFile(filepath.Join(dir, entries[0].Name()), []byte("overwritten"), 0o644)
	r := Run(t, env, "dysnomia-snapshots", "--query-all", "--check")
	if r.Code == 0 || !strings.Contains(r.Stderr, three) {
		t.Errorf("--query-all --check after damage: exit %d\n%s", r.Code, r.Stderr)
	}
}

// myDumpOf decompresses the payload files of a snapshot directory.
func myDumpOf(t *testing.T, dir string) []byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// A decoder for DecodeAll only: given a reader, it would also
		// start decoding that stream, and DecodeAll could then wait
		// forever for a decoder the stream holds.
		dec, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := dec.DecodeAll(data, nil)
		dec.Close()
		if err != nil {
			t.Fatalf("decompress %s: %v", e.Name(), err)
		}
		all = append(all, out...)
	}
	return all
}

// A failing init script: non-zero exit, the file and line on stderr, no
// database left.
func TestMysqlFailingInitScript(t *testing.T) {
	srv := mysqltest.Start(t)
	comp, storeDir := myComponent(t, "brokendb", map[string]string{
		"1.sql": "CREATE TABLE t (x INT);\n",
		"2.sql": "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES ('not a number');\n",
	})
	srv.Exec(t, "SET GLOBAL sql_mode = 'STRICT_ALL_TABLES'")
	env, _ := StateEnv(t)
	env = append(env, "mysqlSocket="+srv.Socket, "NIX_STORE_DIR="+storeDir)
	r := myDisnix(t, env, "activate", comp)
	if r.Code == 0 {
		t.Fatalf("activate succeeded:\n%s", r.Stderr)
	}
	for _, want := range []string{"dysnomia: error:", "brokendb", "mysql-databases/2.sql", "at line 2"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if srv.HasDatabase(t, "brokendb") {
		t.Error("the half-created database is left")
	}
}

// A container file with a password file; a shell session reaches the
// database with the command the help prints.
func TestMysqlPasswordFileAndShell(t *testing.T) {
	srv := mysqltest.Start(t)
	pw := `file "pass" #1`
	srv.Exec(t, `CREATE USER app@localhost IDENTIFIED BY 'file "pass" #1'`)
	srv.Exec(t, "GRANT ALL ON `shopdb`.* TO app@localhost")
	srv.Exec(t, "GRANT ALL ON `dysnomia-%`.* TO app@localhost")
	root := t.TempDir()
	pwFile := filepath.Join(root, "secrets", "mysql")
	myWrite(t, pwFile, pw+"\n")
	container := filepath.Join(root, "containers", "shop")
	myWrite(t, container, "type=mysql-database\nmysqlSocket="+srv.Socket+"\nmysqlUsername=app\nmysqlPasswordFile="+pwFile+"\n")
	comp := filepath.Join(root, "pkgs", "shopdb")
	myWrite(t, filepath.Join(comp, "mysql-databases", "shop.sql"), "CREATE TABLE test (msg VARCHAR(10));\nINSERT INTO test VALUES ('ok');\n")
	env, state := StateEnv(t)
	for _, op := range []string{"activate", "snapshot", "restore"} {
		r := MustRun(t, env, "dysnomia", "--operation", op, "--component", comp, "--container", container)
		if strings.Contains(r.Stderr, "warning") || strings.Contains(r.Stdout+r.Stderr, pw) {
			t.Errorf("%s: unexpected output:\n%s%s", op, r.Stdout, r.Stderr)
		}
	}
	if got, _ := myMsgs(srv, "shopdb"); got != "ok" {
		t.Errorf("rows = %q", got)
	}
	if myCount(t, filepath.Join(state, "snapshots", "shop", "shopdb")) != 1 {
		t.Errorf("no snapshot stored")
	}

	r := MustRun(t, env, "dysnomia", "--shell", "--component", comp, "--container", container,
		"--command", `mariadb --socket="$mysqlSocket" --user=root -N -e 'SELECT msg FROM test' shopdb`)
	if strings.TrimSpace(r.Stdout) != "ok" || !strings.Contains(r.Stderr, "mariadb --socket=") {
		t.Errorf("shell: stdout %q\nstderr:\n%s", r.Stdout, r.Stderr)
	}
}
