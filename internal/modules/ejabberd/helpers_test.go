package ejabberd

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
	"github.com/dysnomia-go/dysnomia/internal/testutil/ejabberdtest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func TestMain(m *testing.M) { os.Exit(ejabberdtest.Main(m)) }

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

// fixture is a component of the package's node, with a store of its own.
// The node's data is deleted before each test.
type fixture struct {
	t     *testing.T
	node  *ejabberdtest.Node
	store *store.Store
	comp  module.Component
	props config.Properties
	rep   *recorder
}

// newFixture makes a fixture on the package's node, whose data is deleted
// first when reset.
func newFixture(t *testing.T, compPath string, reset bool) *fixture {
	t.Helper()
	node := ejabberdtest.Start(t)
	if reset {
		node.Reset(t)
	}
	return &fixture{t: t, node: node, store: store.Open(filepath.Join(t.TempDir(), "state")),
		comp: module.Component{Name: "ejabberd_dump", Path: compPath}, props: node.Properties(), rep: &recorder{}}
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
		Env:       []string{"PATH=/usr/sbin:/usr/bin:/bin"},
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
		f.t.Fatalf("%s: %v\nreported:\n%s", a, err, f.rep)
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

func (f *fixture) users() string { return strings.Join(f.node.Users(f.t), ",") }

// password reports whether user has password pw.
func (f *fixture) password(user, pw string) bool {
	_, err := f.node.CtlErr("check_password", user, ejabberdtest.Host, pw)
	return err == nil
}

// rawDump is the node's own dump of its current data (ejabberdctl dump).
func rawDump(t *testing.T, node *ejabberdtest.Node) []byte {
	t.Helper()
	p := filepath.Join(node.SpoolDir, "test-dump")
	node.Ctl(t, "dump", p)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	return data
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

// writeFile writes a file, making its directory.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	adminOnce sync.Once
	adminDump []byte
)

// initialDump is the node's own dump (ejabberdctl dump) of its data with
// one account, admin with password admin, made once (the node is left
// empty). Given "user:password" pairs, it is a dump of those accounts
// instead, made from that one by renaming (in the canonical form).
func initialDump(t *testing.T, node *ejabberdtest.Node, users ...string) []byte {
	t.Helper()
	adminOnce.Do(func() {
		node.Reset(t)
		node.Ctl(t, "register", "admin", ejabberdtest.Host, "admin")
		adminDump = rawDump(t, node)
		node.Reset(t)
	})
	if adminDump == nil {
		t.Fatal("no initial dump")
	}
	if len(users) == 0 {
		return adminDump
	}
	d, err := parseDump(strings.NewReader(string(adminDump)))
	if err != nil {
		t.Fatal(err)
	}
	admin := d.records
	d.records = nil
	for _, up := range users {
		u, pw, _ := strings.Cut(up, ":")
		for _, r := range admin {
			r = strings.ReplaceAll(r, `<<"localhost">>},<<"admin">>`, `<<"localhost">>},<<"`+pw+`">>`)
			d.records = append(d.records, strings.ReplaceAll(r, `<<"admin">>`, `<<"`+u+`">>`))
		}
	}
	var b strings.Builder
	d.write(&b)
	return []byte(b.String())
}
