package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/mysqltest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// One server for the package; each test uses its own database names.
var (
	server    *mysqltest.Server
	serverErr error
)

func TestMain(m *testing.M) {
	server, serverErr = mysqltest.Launch(mysqltest.Options{})
	code := m.Run()
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop MariaDB:", err)
		}
	}
	os.Exit(code)
}

// needServer returns the package's server, or skips (fails under CI=true).
func needServer(t *testing.T) *mysqltest.Server {
	t.Helper()
	if errors.Is(serverErr, mysqltest.ErrNotInstalled) {
		mysqltest.Unavailable(t, serverErr)
	}
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return server
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

func (r *recorder) warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warns...)
}

// env is one component in one container of the package's server, with its
// own state directory.
type env struct {
	t      *testing.T
	srv    *mysqltest.Server
	store  *store.Store
	comp   string // component path
	name   string // database name
	props  config.Properties
	report *recorder
	stderr bytes.Buffer
}

// newEnv makes a component directory named name holding the init scripts
// (file name -> content) under mysql-databases/.
func newEnv(t *testing.T, name string, scripts map[string]string) *env {
	t.Helper()
	srv := needServer(t)
	comp := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(comp, ScriptDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for f, content := range scripts {
		if err := os.WriteFile(filepath.Join(comp, ScriptDir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, srv: srv, store: store.Open(filepath.Join(t.TempDir(), "state")), comp: comp, name: name, report: &recorder{}}
	e.props.Set(config.Property{Key: "mysqlSocket", Values: []string{srv.Socket}})
	e.props.Set(config.Property{Key: "timeout", Values: []string{"5"}})
	t.Cleanup(func() {
		// Leave the shared server clean for the other tests.
		srv.DB().Exec("DROP DATABASE IF EXISTS " + quoteIdent(name))
	})
	return e
}

func (e *env) set(key, value string) {
	e.props.Set(config.Property{Key: key, Values: []string{value}})
}

func (e *env) request(act module.Activity) *module.Request {
	return &module.Request{
		Activity:  act,
		Component: module.Component{Name: e.name, Path: e.comp},
		Container: module.Container{Name: Type, Arg: Type, Type: Type, Properties: e.props},
		Store:     e.store,
		Env:       append(os.Environ(), e.props.Env()...),
		Stdin:     strings.NewReader(""),
		Stdout:    &e.stderr,
		Stderr:    &e.stderr,
		Report:    e.report,
	}
}

// run runs an activity and returns its error.
func (e *env) run(act module.Activity) error {
	e.t.Helper()
	return Module{}.Run(context.Background(), e.request(act))
}

// must runs an activity and fails the test on error.
func (e *env) must(act module.Activity) {
	e.t.Helper()
	if err := e.run(act); err != nil {
		e.t.Fatalf("%s: %v", act, err)
	}
}

// rows queries the component's database.
func (e *env) rows(query string, args ...any) [][]string {
	e.t.Helper()
	return e.srv.Rows(e.t, strings.ReplaceAll(query, "$db", quoteIdent(e.name)), args...)
}

func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	e.srv.Exec(e.t, strings.ReplaceAll(query, "$db", quoteIdent(e.name)), args...)
}

func (e *env) exists() bool {
	e.t.Helper()
	return e.srv.HasDatabase(e.t, e.name)
}

// generations lists the ids of the component's generations, in order.
func (e *env) generations() []string {
	e.t.Helper()
	gens, err := e.store.Generations(store.Key{Container: Type, Component: e.name})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, g := range gens {
		ids = append(ids, g.Snapshot.ID)
	}
	return ids
}

// snapshotCount counts the snapshot directories, as upstream's tests do.
func (e *env) snapshotCount() int {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.store.Dir(), "snapshots", Type, e.name))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return len(entries)
}

// workDatabases lists leftover work databases of any restore.
func workDatabases(t *testing.T, srv *mysqltest.Server) []string {
	t.Helper()
	var out []string
	for _, n := range srv.Databases(t) {
		if strings.HasPrefix(n, "dysnomia-") {
			out = append(out, n)
		}
	}
	return out
}
