package influx

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/influxtest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func TestMain(m *testing.M) { os.Exit(influxtest.Main(m)) }

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

// fixture is one component on the package's server, with its own store.
type fixture struct {
	t     *testing.T
	srv   *influxtest.Server
	store *store.Store
	comp  module.Component
	props config.Properties
	rep   *recorder
}

// newFixture makes a component named name with import files (name ->
// content) in influx-databases/ (nil: no such directory). The database is
// dropped when the test ends.
func newFixture(t *testing.T, name string, files map[string]string) *fixture {
	t.Helper()
	srv := influxtest.Start(t)
	root := t.TempDir()
	dir := filepath.Join(root, "component")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if files != nil {
		os.MkdirAll(filepath.Join(dir, InitDir), 0o755)
	}
	for n, content := range files {
		if err := os.WriteFile(filepath.Join(dir, InitDir, n), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, srv: srv, store: store.Open(filepath.Join(root, "state")),
		comp: module.Component{Name: name, Path: dir}, props: srv.Properties(), rep: &recorder{}}
	t.Cleanup(func() { srv.QueryRaw("", "DROP DATABASE "+influxtest.Ident(name)) })
	return f
}

func (f *fixture) set(key, value string) {
	f.props.Set(config.Property{Key: key, Values: []string{value}})
}

func (f *fixture) request(a module.Activity) *module.Request {
	return &module.Request{
		Activity:  a,
		Component: f.comp,
		Container: module.Container{Name: Type, Arg: Type, Type: Type, Properties: f.props},
		Store:     f.store,
		Env:       []string{"PATH=/usr/bin:/bin"},
		Stdin:     strings.NewReader(""),
		Stdout:    io.Discard,
		Stderr:    io.Discard,
		Report:    f.rep,
	}
}

func (f *fixture) run(a module.Activity) error {
	return Module{}.Run(context.Background(), f.request(a))
}

func (f *fixture) must(a module.Activity) {
	f.t.Helper()
	if err := f.run(a); err != nil {
		f.t.Fatalf("%s %s: %v\nreported:\n%s", a, f.comp.Name, err, f.rep)
	}
}

func (f *fixture) key() store.Key { return store.Key{Container: Type, Component: f.comp.Name} }

func (f *fixture) generations() []store.Generation {
	f.t.Helper()
	gens, err := f.store.Generations(f.key())
	if err != nil {
		f.t.Fatal(err)
	}
	return gens
}

// hosts lists the host tag of every cpu point, in time order.
func (f *fixture) hosts() string {
	f.t.Helper()
	var out []string
	for _, s := range f.srv.Query(f.t, f.comp.Name, `SELECT "host", "value" FROM "cpu"`) {
		for _, v := range s.Values {
			out = append(out, fmt.Sprint(v[1]))
		}
	}
	return strings.Join(out, ",")
}

// state is everything of the database the server reports: retention
// policies, continuous queries, and every series of every measurement of
// every retention policy, as the server's JSON renders it.
func (f *fixture) state() string {
	f.t.Helper()
	db := f.comp.Name
	var b strings.Builder
	rps := f.srv.Query(f.t, "", "SHOW RETENTION POLICIES ON "+influxtest.Ident(db))
	fmt.Fprintf(&b, "rps: %v\n", rps)
	for _, s := range f.srv.Query(f.t, "", "SHOW CONTINUOUS QUERIES") {
		if s.Name == db {
			fmt.Fprintf(&b, "cqs: %v\n", s.Values)
		}
	}
	ms := f.srv.Query(f.t, db, "SHOW MEASUREMENTS")
	for _, rp := range rps[0].Values {
		for _, m := range ms {
			for _, mv := range m.Values {
				q := fmt.Sprintf("SELECT * FROM %s.%s GROUP BY *", influxtest.Ident(fmt.Sprint(rp[0])), influxtest.Ident(fmt.Sprint(mv[0])))
				fmt.Fprintf(&b, "%s: %v\n", q, f.srv.Query(f.t, db, q))
				fk := fmt.Sprintf("SHOW FIELD KEYS FROM %s.%s", influxtest.Ident(fmt.Sprint(rp[0])), influxtest.Ident(fmt.Sprint(mv[0])))
				fmt.Fprintf(&b, "%s: %v\n", fk, f.srv.Query(f.t, db, fk))
			}
		}
	}
	return b.String()
}

// payload is a snapshot's decompressed dump.
func (f *fixture) payload(sn store.Snapshot) string {
	f.t.Helper()
	p, err := f.store.Read(context.Background(), sn)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := p.Open(DumpFile)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	data, _ := io.ReadAll(r)
	return string(data)
}

// commitPayload stores a snapshot holding files as if this module wrote it.
func (f *fixture) commitPayload(files map[string]string) store.Snapshot {
	f.t.Helper()
	res, err := f.store.Commit(context.Background(), f.key(), store.Meta{Module: Type}, func(d *store.Dump) error {
		for name, data := range files {
			w, err := d.Create(name)
			if err != nil {
				return err
			}
			io.WriteString(w, data)
			if err := w.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Snapshot
}

// upstreamTestdb is upstream's test component: it creates testdb with one
// cpu point.
const upstreamTestdb = `# DDL
CREATE DATABASE testdb

# DML
# CONTEXT-DATABASE: testdb
cpu,host=serverA,region=us_west value=0.64
`
