package system

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func TestEntryModule(t *testing.T) {
	p := func(k, v string) config.Property { return config.Property{Key: k, Values: []string{v}} }
	e := Entry{
		Key:  store.Key{Container: "pg", Component: "app"},
		Path: "/nix/store/x-app",
		Container: Container{Name: "pg", Type: "postgresql-database",
			Properties:    config.Properties{p("postgresqlOwner", "postgres"), p("postgresqlPort", "5432")},
			SecretFiles:   map[string]string{"postgresqlPasswordFile": "/run/keys/pg"},
			ServerPackage: "/nix/store/y-postgresql-16.4"},
		Properties: config.Properties{p("postgresqlOwner", "app")},
	}
	want := module.Container{Name: "pg", Arg: "pg", Type: "postgresql-database", Properties: config.Properties{
		p("postgresqlOwner", "app"), p("postgresqlPort", "5432"), p("postgresqlPasswordFile", "/run/keys/pg"),
		p("postgresqlBinDir", "/nix/store/y-postgresql-16.4/bin"),
	}}
	if d := cmp.Diff(want, e.Module()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// A bin directory in the config wins; other types get none.
	e.Container.Properties = append(e.Container.Properties, p("postgresqlBinDir", "/opt/pg/bin"))
	if got := e.Module().Properties.Lookup("postgresqlBinDir"); got != "/opt/pg/bin" {
		t.Errorf("postgresqlBinDir = %q", got)
	}
	e.Container.Type = "mysql-database"
	e.Container.Properties = nil
	e.Properties = nil
	e.Container.ServerPackage = "/nix/store/z-mariadb-server-11.4.5"
	got := e.Module().Properties
	if got.Has("postgresqlBinDir") {
		t.Error("a mysql-database container got postgresqlBinDir")
	}
	// mysql-database dumps with the server package's own mariadb-dump too.
	if v := got.Lookup("mysqlBinDir"); v != "/nix/store/z-mariadb-server-11.4.5/bin" {
		t.Errorf("mysqlBinDir = %q", v)
	}
	e.Container.Properties = config.Properties{p("mysqlBinDir", "/opt/mariadb/bin")}
	if v := e.Module().Properties.Lookup("mysqlBinDir"); v != "/opt/mariadb/bin" {
		t.Errorf("mysqlBinDir from the config = %q", v)
	}
	e.Container.Type, e.Container.Properties = "fileset", nil
	if ps := e.Module().Properties; ps.Has("mysqlBinDir") || ps.Has("postgresqlBinDir") {
		t.Errorf("a fileset container got a bin directory: %v", ps)
	}
}

func TestEntryChanges(t *testing.T) {
	base := entry("pg", "app", "/c/app-1", "/nix/store/pg-15", config.Property{Key: "k", Values: []string{"v"}})
	mod := func(f func(*Entry)) Entry {
		e := base
		e.Container.Properties = append(config.Properties(nil), base.Container.Properties...)
		f(&e)
		return e
	}
	tests := []struct {
		next Entry
		want []string
	}{
		{base, nil},
		{mod(func(e *Entry) { e.Path = "/c/app-2" }), []string{"path"}},
		{mod(func(e *Entry) { e.Container.Type = "other" }), []string{"type"}},
		{mod(func(e *Entry) { e.Container.Properties[0].Values = []string{"w"} }), []string{"properties"}},
		{mod(func(e *Entry) { e.Container.Properties[0].List = true }), []string{"properties"}},
		{mod(func(e *Entry) { e.Container.SecretFiles = map[string]string{"pw": "/run/keys/pw"} }), []string{"secretFiles"}},
		{mod(func(e *Entry) { e.Container.ServerPackage = "/nix/store/pg-16" }), []string{"serverPackage"}},
		{mod(func(e *Entry) { e.Properties = config.Properties{{Key: "o", Values: []string{"x"}}} }), []string{"component properties"}},
		{mod(func(e *Entry) { e.Path = "/c/app-2"; e.Container.ServerPackage = "" }), []string{"path", "serverPackage"}},
	}
	for i, tc := range tests {
		if d := cmp.Diff(tc.want, base.Changes(tc.next)); d != "" {
			t.Errorf("%d: (-want +got):\n%s", i, d)
		}
	}
}
