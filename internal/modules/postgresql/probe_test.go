package postgresql

import (
	"context"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

func TestProbe(t *testing.T) {
	f := newFixture(t, "probe_db", helloWorld)
	f.dropAtEnd()
	probe := func() module.State {
		t.Helper()
		st, err := Module{}.Probe(context.Background(), f.request(module.Restore))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if got := probe(); got != module.StateAbsent {
		t.Errorf("no database: %v", got)
	}
	f.srv.Psql(t, "postgres", "create database probe_db")
	if got := probe(); got != module.StateEmpty {
		t.Errorf("empty database: %v", got)
	}
	// An extension's own relations (pg_buffercache is a view in public)
	// are not the component's data.
	f.query("create extension pg_buffercache")
	if n := f.query("select count(*) from pg_class where relname = 'pg_buffercache'"); n != "1" {
		t.Fatalf("pg_buffercache made no relation (%s): the check below would look at nothing", n)
	}
	f.query("create schema other")
	if got := probe(); got != module.StateEmpty {
		t.Errorf("database with an extension and an empty schema: %v", got)
	}
	f.query("create sequence other.s")
	if got := probe(); got != module.StateHasData {
		t.Errorf("database with a sequence: %v", got)
	}
	f.query("drop sequence other.s")
	// Half-initialised by an interrupted activation: empty.
	f.query("create table t (x int)")
	f.srv.Psql(t, "postgres", "comment on database probe_db is "+literal(incomplete))
	if got := probe(); got != module.StateEmpty {
		t.Errorf("half-initialised database: %v", got)
	}
	f.srv.Psql(t, "postgres", "comment on database probe_db is null")
	if got := probe(); got != module.StateHasData {
		t.Errorf("database with a table: %v", got)
	}
}
