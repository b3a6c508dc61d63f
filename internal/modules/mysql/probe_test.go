package mysql

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/testutil/mysqltest"
)

func TestProbe(t *testing.T) {
	e := newEnv(t, "probe_db", nil)
	other := newEnv(t, "Probe_DB", nil) // differs only in case
	probe := func() module.State {
		t.Helper()
		st, err := Module{}.Probe(context.Background(), e.request(module.Restore))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if got := probe(); got != module.StateAbsent {
		t.Errorf("no database: %v", got)
	}
	e.exec("CREATE DATABASE $db")
	if got := probe(); got != module.StateEmpty {
		t.Errorf("empty database: %v", got)
	}
	// A table in a database whose name differs only in case is not ours.
	other.exec("CREATE DATABASE IF NOT EXISTS $db")
	other.exec("CREATE TABLE $db.t (x INT)")
	if got := probe(); got != module.StateEmpty {
		t.Errorf("empty database beside %q with a table: %v", other.name, got)
	}
	e.exec("CREATE VIEW $db.v AS SELECT 1 AS one")
	if got := probe(); got != module.StateHasData {
		t.Errorf("database with a view: %v", got)
	}
	e.exec("DROP VIEW $db.v")
	e.exec("CREATE TABLE $db.items (id INT)")
	if got := probe(); got != module.StateHasData {
		t.Errorf("database with an (empty) table: %v", got)
	}
}

// TestBinDir: with mysqlBinDir the tools come from there only, whatever
// PATH holds.
func TestBinDir(t *testing.T) {
	e := newEnv(t, "bindir_db", map[string]string{"1.sql": "CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1);\n"})
	e.must(module.Activate)
	bins := mysqltest.Require(t)
	good, trap := t.TempDir(), t.TempDir()
	for _, dir := range []string{good, trap} {
		for name, target := range map[string]string{"mariadb": bins.Client, "mariadb-dump": bins.Dump} {
			if dir == trap && name == "mariadb-dump" {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho 'trap: the wrong mariadb-dump' >&2\nexit 9\n"), 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	req := func() *module.Request {
		r := e.request(module.Snapshot)
		r.Env = append(r.Env, "PATH="+trap+":"+os.Getenv("PATH"))
		return r
	}
	if err := (Module{}).Run(context.Background(), req()); err == nil || !strings.Contains(err.Error(), "trap") {
		t.Fatalf("snapshot with the trap first on PATH: %v", err)
	}
	e.set("mysqlBinDir", good)
	if err := (Module{}).Run(context.Background(), req()); err != nil {
		t.Fatalf("snapshot with mysqlBinDir: %v", err)
	}
	if n := len(e.generations()); n != 1 {
		t.Errorf("generations = %d, want 1", n)
	}
	e.set("mysqlBinDir", t.TempDir())
	if err := (Module{}).Run(context.Background(), req()); err == nil || !strings.Contains(err.Error(), "not found in mysqlBinDir") {
		t.Errorf("snapshot with an empty mysqlBinDir: %v", err)
	}
}
