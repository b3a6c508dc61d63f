package postgresql

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestActivateRunsEveryScriptInOrder: every *.sql file runs, in byte-wise
// order of names ("10-" before "9-"), each seeing what the previous made;
// other files are ignored.
func TestActivateRunsEveryScriptInOrder(t *testing.T) {
	f := newFixture(t, "ordered", map[string]string{
		"10-table.sql":   "create table steps (n serial primary key, what text);\n",
		"20-first.sql":   "insert into steps (what) values ('first');\n",
		"9-second.sql":   "insert into steps (what) values ('second');\n",
		"README.txt":     "not sql\n",
		"30-broken.sql~": "this would fail\n",
	})
	f.dropAtEnd()
	f.must(module.Activate)
	if got, want := f.query("select string_agg(what, ',' order by n) from steps"), "first,second"; got != want {
		t.Fatalf("rows = %q, want %q", got, want)
	}
	if got := f.query("select shobj_description(oid, 'pg_database') is null from pg_database where datname = current_database()"); got != "t" {
		t.Errorf("the database still carries the incomplete mark")
	}
	active, err := f.store.IsActive(store.Key{Container: ModuleType, Component: "ordered"})
	if err != nil || !active {
		t.Fatalf("component not marked active: %v", err)
	}
}

// TestActivateTwiceIsANoop: a second activate does not run the scripts
// again, and re-marks a deactivated component as active.
func TestActivateTwiceIsANoop(t *testing.T) {
	f := newFixture(t, "twice", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Deactivate)
	f.must(module.Activate)
	if got := f.query("select count(*) from test"); got != "1" {
		t.Fatalf("rows after a second activate = %s, want 1", got)
	}
	k := store.Key{Container: ModuleType, Component: "twice"}
	if g, _ := f.store.IsGarbage(k); g {
		t.Fatal("still marked as garbage after activate")
	}
	if !strings.Contains(f.rep.String(), `database "twice" exists`) {
		t.Errorf("no note that the database exists:\n%s", f.rep)
	}
}

// TestActivateWithoutScripts creates an empty database.
func TestActivateWithoutScripts(t *testing.T) {
	f := newFixture(t, "empty", nil)
	os.RemoveAll(filepath.Join(f.comp.Path, scriptsDir))
	f.dropAtEnd()
	f.must(module.Activate)
	if got := f.query("select count(*) from pg_class where relnamespace = 'public'::regnamespace"); got != "0" {
		t.Fatalf("objects in public = %s, want 0", got)
	}
}

// TestActivateFailingScript: the error names the file and line, and no
// database is left behind, even though an earlier file succeeded.
func TestActivateFailingScript(t *testing.T) {
	f := newFixture(t, "failing", map[string]string{
		"01-ok.sql":  "create table fine (x int);\n",
		"02-bad.sql": "insert into fine values (1);\n-- a comment\nselect * from no_such_table;\ninsert into fine values (2);\n",
	})
	f.dropAtEnd()
	err := f.run(module.Activate)
	if err == nil {
		t.Fatal("activate succeeded with a failing init script")
	}
	want := filepath.Join(f.comp.Path, scriptsDir, "02-bad.sql") + ", line 3"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("error = %v\nwant it to contain %q and the server's message", err, want)
	}
	if f.exists() {
		t.Fatal("the database is left behind after a failing init script")
	}
	if active, _ := f.store.IsActive(store.Key{Container: ModuleType, Component: "failing"}); active {
		t.Fatal("marked active after a failure")
	}
}

// TestActivateScriptsReadableByEveryone: scripts under a world-readable
// path (like the Nix store) are used in place, not copied.
func TestActivateScriptsReadableByEveryone(t *testing.T) {
	root := publicDir(t)
	f := newFixture(t, "public", nil)
	f.comp.Path = filepath.Join(root, "component")
	writeScripts(t, f.comp.Path, map[string]string{"a.sql": "create table t (x int);\nselect broken;\n"})
	f.dropAtEnd()
	err := f.run(module.Activate)
	if err == nil {
		t.Fatal("activate succeeded with a failing init script")
	}
	if want := filepath.Join(f.comp.Path, scriptsDir, "a.sql") + ", line 2"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v; want %q", err, want)
	}
}

// TestActivateCopyAndPsqlMetaCommands: scripts are run by psql, so pg_dump
// plain output (COPY … FROM stdin, \. and psql variables) works.
func TestActivateCopyAndPsqlMetaCommands(t *testing.T) {
	f := newFixture(t, "copydata", map[string]string{
		"dump.sql": "\\set greeting 'Hello world'\ncreate table test (id int, msg text);\n" +
			"copy test (id, msg) from stdin;\n1\tHello\n2\tworld\n\\.\n" +
			"insert into test values (3, :'greeting');\n",
	})
	f.dropAtEnd()
	f.must(module.Activate)
	if got := f.query("select string_agg(msg, '|' order by id) from test"); got != "Hello|world|Hello world" {
		t.Fatalf("rows = %q", got)
	}
}

// TestActivateNearName: an existing x-testdb does not count as testdb
// (upstream's word match did).
func TestActivateNearName(t *testing.T) {
	near := newFixture(t, "x-neardb", helloWorld)
	near.dropAtEnd()
	near.must(module.Activate)
	f := newFixture(t, "neardb", map[string]string{"a.sql": "create table mine (x int);"})
	f.dropAtEnd()
	f.must(module.Activate)
	if !f.exists() {
		t.Fatal("neardb was not created because x-neardb exists")
	}
	if got := f.query("select count(*) from mine"); got != "0" {
		t.Fatalf("neardb's scripts did not run: %s", got)
	}
}

// TestActivateOwnerEncodingTemplate: created databases get the configured
// owner, encoding and template, and the scripts run as the owner.
func TestActivateOwnerEncodingTemplate(t *testing.T) {
	f := newFixture(t, "owned", map[string]string{"a.sql": "create table t (x int);"})
	f.srv.Psql(t, "postgres", "drop role if exists app_owner; create role app_owner")
	t.Cleanup(func() { f.srv.QueryPsql("postgres", "drop role if exists app_owner") })
	f.set("postgresqlOwner", "app_owner")
	f.set("postgresqlEncoding", "LATIN1")
	f.set("postgresqlTemplate", "template0")
	f.dropAtEnd()
	f.must(module.Activate)
	got := f.query("select pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) from pg_database where datname = current_database()")
	if got != "app_owner LATIN1" {
		t.Fatalf("owner and encoding = %q, want \"app_owner LATIN1\"", got)
	}
	if got := f.query("select tableowner from pg_tables where tablename = 't'"); got != "app_owner" {
		t.Fatalf("table owner = %q, want app_owner", got)
	}
}

// TestActivateRedoesInterruptedActivation: a database left with the
// incomplete mark (as a crash between create and commit leaves it) is
// created again, with the scripts.
func TestActivateRedoesInterruptedActivation(t *testing.T) {
	f := newFixture(t, "interrupted", helloWorld)
	f.dropAtEnd()
	f.srv.Psql(t, "postgres", "create database interrupted")
	f.srv.Psql(t, "postgres", "comment on database interrupted is "+literal(incomplete))
	f.must(module.Activate)
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("rows = %q, want Hello world", got)
	}
}
