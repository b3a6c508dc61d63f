package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// env is one container with a state directory, for one test.
type env struct {
	t     *testing.T
	dir   string // sqliteDatabaseDir
	store *store.Store
	props config.Properties
	rep   *recorder
}

func newEnv(t *testing.T, props ...string) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{t: t, dir: filepath.Join(root, "db"), store: store.Open(filepath.Join(root, "state")), rep: &recorder{}}
	e.store.Report = e.rep
	e.props = config.Properties{{Key: "sqliteDatabaseDir", Values: []string{e.dir}}}
	for i := 0; i+1 < len(props); i += 2 {
		e.props.Set(config.Property{Key: props[i], Values: []string{props[i+1]}})
	}
	return e
}

// component writes a component directory named name whose init scripts are
// files (file name, content pairs).
func (e *env) component(name string, files ...string) string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(dir, initDir), 0o755); err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(files); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, initDir, files[i]), []byte(files[i+1]), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return dir
}

func (e *env) request(a module.Activity, comp string) *module.Request {
	return &module.Request{
		Activity:  a,
		Component: module.Component{Name: config.NameOf(comp), Path: comp},
		Container: module.Container{Name: "sqlite-test", Arg: "sqlite-test", Type: Type, Properties: e.props},
		Store:     e.store,
		Stdout:    &bytes.Buffer{},
		Stderr:    &bytes.Buffer{},
		Report:    e.rep,
	}
}

// run carries out activity a on comp and returns its error.
func (e *env) run(a module.Activity, comp string) error {
	return Module{}.Run(context.Background(), e.request(a, comp))
}

// must is run that fails the test on an error.
func (e *env) must(a module.Activity, comp string) {
	e.t.Helper()
	if err := e.run(a, comp); err != nil {
		e.t.Fatalf("%s: %v", a, err)
	}
}

func (e *env) dbPath(comp string) string {
	return filepath.Join(e.dir, config.NameOf(comp)+Suffix)
}

// open opens the component's database as an application would.
func (e *env) open(comp string) *sql.DB {
	e.t.Helper()
	db, err := sql.Open("sqlite", dsn(e.dbPath(comp), 30*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

func (e *env) exec(db *sql.DB, query string, args ...any) {
	e.t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

func (e *env) generations(comp string) []store.Generation {
	e.t.Helper()
	gens, err := e.store.Generations(store.Key{Container: "sqlite-test", Component: config.NameOf(comp)})
	if err != nil {
		e.t.Fatal(err)
	}
	return gens
}

// dirEntries lists the database directory.
func (e *env) dirEntries() []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.dir)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	var names []string
	for _, en := range ents {
		names = append(names, en.Name())
	}
	return names
}

// leftovers lists the temporary files in the database directory.
func (e *env) leftovers() []string {
	var tmp []string
	for _, n := range e.dirEntries() {
		if strings.HasPrefix(n, ".") {
			tmp = append(tmp, n)
		}
	}
	return tmp
}

// rows reads every row of every table of db, as text, ordered by table and
// rowid: a comparable picture of the whole content.
func rows(t *testing.T, db *sql.DB) map[string][][]any {
	t.Helper()
	tables := map[string][][]any{}
	rs, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rs.Next() {
		var n string
		rs.Scan(&n)
		names = append(names, n)
	}
	rs.Close()
	for _, n := range names {
		r, err := db.Query(fmt.Sprintf("SELECT * FROM %q ORDER BY rowid", n))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		tables[n] = [][]any{}
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			tables[n] = append(tables[n], vals)
		}
		r.Close()
	}
	return tables
}

// recorder is a ui.Reporter that keeps what it is told.
type recorder struct {
	mu           sync.Mutex
	infos, warns []string
}

func (r *recorder) Infof(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.infos = append(r.infos, fmt.Sprintf(f, a...))
}

func (r *recorder) Warnf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warns = append(r.warns, fmt.Sprintf(f, a...))
}

func (r *recorder) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}
