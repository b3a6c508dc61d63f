package mysql

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func TestQuoteIdent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"testdb", "`testdb`"},
		{"my-app db", "`my-app db`"},
		{"a`b", "`a``b`"},
		{"``", "``````"},
		{"x'; DROP DATABASE y; --", "`x'; DROP DATABASE y; --`"},
	} {
		if got := quoteIdent(tc.in); got != tc.want {
			t.Errorf("quoteIdent(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// The quoting holds against the server: every name creates exactly the
// database of that name, and the existence check matches it exactly.
func TestQuotedNamesOnServer(t *testing.T) {
	srv := needServer(t)
	ctx := context.Background()
	for _, name := range []string{"q-my-app db", "q-we`ird", "q-``", "q-x'; DROP DATABASE mysql; --", "q-ünï"} {
		t.Cleanup(func() { srv.DB().Exec("DROP DATABASE IF EXISTS " + quoteIdent(name)) })
		if _, err := srv.DB().Exec("CREATE DATABASE " + quoteIdent(name)); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		ok, err := databaseExists(ctx, srv.DB(), name)
		if err != nil || !ok {
			t.Errorf("databaseExists(%q) = %v, %v; want true", name, ok, err)
		}
	}
	ok, err := databaseExists(ctx, srv.DB(), "q-my-app")
	if err != nil || ok {
		t.Errorf("databaseExists of a prefix = %v, %v; want false", ok, err)
	}
}

var helloScripts = map[string]string{
	"01-schema.sql": "CREATE TABLE test (id INT PRIMARY KEY AUTO_INCREMENT, msg VARCHAR(100)) ENGINE=InnoDB;\n",
	"02-data.sql":   "INSERT INTO test (msg) VALUES ('Hello world');\n",
	// Byte order: "10-…" runs after "02-…", and needs its table.
	"10-more.sql": "INSERT INTO test (msg) SELECT CONCAT(msg, ' again') FROM test;\n",
	"README":      "not a script",
}

func TestActivateCreatesAndIsIdempotent(t *testing.T) {
	e := newEnv(t, "act-testdb", helloScripts)
	e.must(module.Activate)
	want := [][]string{{"1", "Hello world"}, {"2", "Hello world again"}}
	if diff := cmp.Diff(want, e.rows("SELECT id, msg FROM $db.test ORDER BY id")); diff != "" {
		t.Fatalf("rows after activate (-want +got):\n%s", diff)
	}
	if ok, _ := e.store.IsActive(store.Key{Container: Type, Component: e.name}); !ok {
		t.Errorf("component not marked active")
	}

	// A second activate keeps the data: no re-import, changes survive.
	e.exec("INSERT INTO $db.test (msg) VALUES ('Bye world')")
	e.must(module.Activate)
	want = append(want, []string{"3", "Bye world"})
	if diff := cmp.Diff(want, e.rows("SELECT id, msg FROM $db.test ORDER BY id")); diff != "" {
		t.Errorf("rows after second activate (-want +got):\n%s", diff)
	}
}

// A database whose name merely contains the component's name is not it.
func TestActivateExactName(t *testing.T) {
	e := newEnv(t, "exact", helloScripts)
	other := "x-exact"
	e.srv.Exec(t, "CREATE DATABASE "+quoteIdent(other))
	t.Cleanup(func() { e.srv.DB().Exec("DROP DATABASE IF EXISTS " + quoteIdent(other)) })
	e.must(module.Activate)
	if got := e.rows("SELECT COUNT(*) FROM $db.test"); got[0][0] != "2" {
		t.Errorf("rows = %v, want 2: the database was not created", got)
	}
}

func TestActivateFailingScriptLeavesNothing(t *testing.T) {
	e := newEnv(t, "act-fail", map[string]string{
		"01-schema.sql": "CREATE TABLE test (msg VARCHAR(100));\nINSERT INTO test VALUES ('one');\n",
		"02-bad.sql":    "INSERT INTO test VALUES ('two');\n\nINSERT INTO nosuchtable VALUES (3);\nINSERT INTO test VALUES ('four');\n",
		"03-never.sql":  "CREATE TABLE never (x INT);\n",
	})
	err := e.run(module.Activate)
	if err == nil {
		t.Fatal("activate succeeded with a failing init script")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{`database "act-fail"`, "mysql-databases/02-bad.sql", "at line 3", "nosuchtable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if e.exists() {
		t.Errorf("the half-created database is still there")
	}
	if ok, _ := e.store.IsActive(store.Key{Container: Type, Component: e.name}); ok {
		t.Errorf("a failed activation marked the component active")
	}
	// Fixed scripts activate cleanly afterwards.
	e2 := newEnv(t, "act-fail", helloScripts)
	e2.must(module.Activate)
}

func TestActivateWithoutScripts(t *testing.T) {
	e := newEnv(t, "act-empty", nil)
	e.must(module.Activate)
	if !e.exists() {
		t.Fatal("database not created")
	}
	if got := e.rows("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", e.name); got[0][0] != "0" {
		t.Errorf("tables = %s, want 0", got[0][0])
	}
}

func TestActivateWaitsBoundedForServer(t *testing.T) {
	e := newEnv(t, "act-nosrv", helloScripts)
	e.set("mysqlSocket", t.TempDir()+"/no.sock")
	e.set("timeout", "1")
	err := e.run(module.Activate)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 1s") {
		t.Fatalf("activate without a server: %v; want a timeout error", err)
	}
	if len(e.report.infos) == 0 || !strings.Contains(e.report.infos[0], "waiting") {
		t.Errorf("no waiting note: %q", e.report.infos)
	}
}

func TestBadProperties(t *testing.T) {
	e := newEnv(t, "act-props", nil)
	e.set("timeout", "soon")
	if err := e.run(module.Activate); err == nil || !strings.Contains(err.Error(), "property timeout") {
		t.Errorf("bad timeout: %v", err)
	}
	e.set("timeout", "5")
	e.set("mysqlPasswordFile", t.TempDir()+"/missing")
	if err := e.run(module.Activate); err == nil || !strings.Contains(err.Error(), "mysqlPasswordFile") {
		t.Errorf("missing password file: %v", err)
	}
}
