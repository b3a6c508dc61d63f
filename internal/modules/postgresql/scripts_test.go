package postgresql

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// scanSQL sends to psql every script the driver could read differently, and
// finds the line each statement starts on.
func TestScanSQL(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		psql       bool
		starts     []int
	}{
		{"plain", "create table t (x int);\n\ninsert into t values (1);\n", false, []int{1, 3}},
		{"comments", "-- a; b\n/* c; /* nested; */ d; */ select 1;\nselect 2", false, []int{2, 3}},
		{"quotes", "insert into t values ('a;\nb'), ('it''s');\nselect \"x;y\" from t;\n", false, []int{1, 3}},
		{"dollar quotes", "create function f() returns int language sql as $f$ select 1; $f$;\ndo $$ begin perform 1; end $$;\nselect $1;", false, []int{1, 2, 3}},
		{"parentheses", "create rule r as on insert to t do also (select 1; select 2);\nselect 3;", false, []int{1, 2}},
		{"casts", "select now()::date, '1'::int;", false, []int{1}},
		{"empty statements", ";;\nselect 1;;", false, []int{1, 1, 2, 2}},
		{"meta-command", "\\set x 1\nselect :x;", true, nil},
		{"copy from stdin", "create table t (x int);\ncopy t from stdin;\n1\n\\.\n", true, nil},
		{"copy word only", "create table t (x int);\nCOPY t (x) FROM STDIN;\n", true, nil},
		{"variable", "select :'greeting';", true, nil},
		{"variable name", "select * from t where x = :x;", true, nil},
		{"backslash in a string", "select E'a\\nb';", true, nil},
		{"transaction control", "create table t (x int);\ncommit;\n", true, nil},
		{"begin", "BEGIN;\nselect 1;\n", true, nil},
		{"non-ascii", "insert into t values ('grüß');", true, nil},
		{"stdin in a string is fine", "insert into t values ('from stdin');", false, []int{1}},
		{"colon in a string is fine", "insert into t values (':x', '12:30');", false, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scanSQL([]byte(tc.text))
			if got.needsPsql != tc.psql {
				t.Errorf("needsPsql = %v (%s), want %v", got.needsPsql, got.why, tc.psql)
			}
			if !tc.psql {
				if diff := cmp.Diff(tc.starts, got.starts); diff != "" {
					t.Errorf("statement starts (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// emptyBinDir makes postgresqlBinDir a directory without psql: whatever
// still works does not need psql.
func emptyBinDir(t *testing.T, f *fixture) {
	dir := t.TempDir()
	f.set("postgresqlBinDir", dir)
}

// TestActivatePlainScriptsWithoutPsql: plain SQL scripts run through the
// driver (psql is not even there), as the owner, in one transaction.
func TestActivatePlainScriptsWithoutPsql(t *testing.T) {
	f := newFixture(t, "direct", map[string]string{
		"01-schema.sql": "create table test (msg text not null);\ncreate function hello() returns text language sql as $$ select 'Hello world'; $$;\n",
		"02-data.sql":   "-- seed\ninsert into test select hello();\n",
	})
	f.dropAtEnd()
	emptyBinDir(t, f)
	f.must(module.Activate)
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("rows = %q", got)
	}
	if got := f.query("select coalesce(shobj_description(oid, 'pg_database'), '') from pg_database where datname = current_database()"); got != "" {
		t.Errorf("the incomplete mark is still there: %q", got)
	}
}

// TestActivateDirectScriptFailure: a plain script that fails through the
// driver leaves no database and no marker, and names the file and the line
// of the failing statement, with and without a position from the server.
func TestActivateDirectScriptFailure(t *testing.T) {
	for _, tc := range []struct {
		name, script, want string
	}{
		{"position", "create table t (x int);\n\ninsert into t values (1);\nselect * from no_such_table;\n", "line 4"},
		{"no position", "create table t (x int primary key);\ninsert into t values (1);\n\ninsert into t\n  values (1);\n", "line 4"},
		{"syntax", "create table t (x int);\nselect 1;\ncreate tabel u (y int);\n", "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "directfail" + strings.ReplaceAll(tc.name, " ", "")
			f := newFixture(t, name, map[string]string{"a.sql": tc.script})
			f.dropAtEnd()
			emptyBinDir(t, f)
			err := f.run(module.Activate)
			if err == nil {
				t.Fatal("activate succeeded with a failing script")
			}
			want := filepath.Join(f.comp.Path, scriptsDir, "a.sql") + ", " + tc.want
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "dropped again") {
				t.Fatalf("error = %v; want %q and that the database was dropped", err, want)
			}
			if f.exists() {
				t.Fatal("the database is left behind")
			}
			if active, _ := f.store.IsActive(store.Key{Container: ModuleType, Component: name}); active {
				t.Fatal("marked active after a failure")
			}
		})
	}
}

// TestActivatePsqlScriptNeedsPsql: a script with psql meta-commands or COPY
// data still goes to psql (here missing, so the activation fails saying so,
// and leaves nothing).
func TestActivatePsqlScriptNeedsPsql(t *testing.T) {
	for name, script := range map[string]string{
		"meta": "\\set greeting 'hi'\ncreate table t (msg text);\ninsert into t values (:'greeting');\n",
		"copy": "create table t (x int);\ncopy t from stdin;\n1\n\\.\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "needspsql"+name, map[string]string{"a.sql": script})
			f.dropAtEnd()
			emptyBinDir(t, f)
			err := f.run(module.Activate)
			if err == nil || !strings.Contains(err.Error(), "psql not found") {
				t.Fatalf("error = %v; want psql not found", err)
			}
			if f.exists() {
				t.Fatal("the database is left behind")
			}
		})
	}
}
