package postgresql

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// recorder is a ui.Reporter that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Infof(f string, a ...any) { r.add("info: " + fmt.Sprintf(f, a...)) }
func (r *recorder) Warnf(f string, a ...any) { r.add("warning: " + fmt.Sprintf(f, a...)) }
func (r *recorder) Progress(string, int64) ui.Counter {
	return ui.Discard.Progress("", 0)
}
func (r *recorder) add(s string) { r.mu.Lock(); r.lines = append(r.lines, s); r.mu.Unlock() }
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// fixture is one component in one container on the test server.
type fixture struct {
	t     *testing.T
	srv   *pgtest.Server
	store *store.Store
	comp  module.Component
	props config.Properties
	rep   *recorder
}

// newFixture makes a component named name whose init scripts are files
// (name -> content) in postgresql-databases/.
func newFixture(t *testing.T, name string, files map[string]string) *fixture {
	t.Helper()
	srv := pgtest.Start(t)
	dir := filepath.Join(t.TempDir(), "component")
	writeScripts(t, dir, files)
	return &fixture{
		t: t, srv: srv, store: store.Open(t.TempDir()),
		comp: module.Component{Name: name, Path: dir}, props: srv.Properties(), rep: &recorder{},
	}
}

func writeScripts(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, scriptsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, scriptsDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// set sets a container property.
func (f *fixture) set(key, value string) {
	f.props.Set(config.Property{Key: key, Values: []string{value}})
}

func (f *fixture) request(a module.Activity) *module.Request {
	return &module.Request{
		Activity:  a,
		Component: f.comp,
		Container: module.Container{Name: ModuleType, Arg: ModuleType, Type: ModuleType, Properties: f.props},
		Store:     f.store,
		Env:       []string{"PATH=/usr/bin:/bin"},
		Stdin:     strings.NewReader(""),
		Stdout:    io.Discard,
		Stderr:    io.Discard,
		Report:    f.rep,
	}
}

// run runs an activity and returns its error.
func (f *fixture) run(a module.Activity) error {
	return Module{}.Run(context.Background(), f.request(a))
}

// must runs an activity and fails the test on an error.
func (f *fixture) must(a module.Activity) {
	f.t.Helper()
	if err := f.run(a); err != nil {
		f.t.Fatalf("%s %s: %v\nreported:\n%s", a, f.comp.Name, err, f.rep)
	}
}

// query runs sql in the component's database.
func (f *fixture) query(sql string) string {
	f.t.Helper()
	return f.srv.Psql(f.t, f.comp.Name, sql)
}

func (f *fixture) exists() bool {
	f.t.Helper()
	return f.srv.HasDatabase(f.t, f.comp.Name)
}

func (f *fixture) generations() []store.Generation {
	f.t.Helper()
	gens, err := f.store.Generations(store.Key{Container: ModuleType, Component: f.comp.Name})
	if err != nil {
		f.t.Fatal(err)
	}
	return gens
}

// dropAtEnd drops the component's database and every temporary database of
// it when the test ends, so tests sharing the server stay independent.
func (f *fixture) dropAtEnd() {
	f.t.Cleanup(func() {
		fresh, aside := tempNames(f.comp.Name)
		for _, db := range []string{f.comp.Name, fresh, aside} {
			f.srv.QueryPsql("postgres", "drop database if exists "+ident(db)+" with (force)")
		}
	})
}

// waitTempGone waits until the server has finished dropping the databases a
// restore replaced (it returns while the drop runs, see dropReplaced).
func (f *fixture) waitTempGone() {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := f.srv.Psql(f.t, "postgres", "select count(*) from pg_database where datname like 'dysnomia-%' and datconnlimit = -2")
		if out == "0" {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the replaced database is still being dropped after 60s: %v", f.srv.Databases(f.t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// helloWorld is upstream's test component: table test with one row.
var helloWorld = map[string]string{
	"testdb.sql": "create table test (msg text not null);\ninsert into test values ('Hello world');\n",
}

// publicDir is a temporary directory every user may read and search (the
// server's OS user runs programs from it); t.TempDir's parent is private.
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dysnomia-pg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
