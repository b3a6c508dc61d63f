package proctest

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Fixture runs a module's activities the way the command line does: one
// container (type, properties), a state directory, and a record of what the
// module reported.
type Fixture struct {
	Type  string
	Props config.Properties
	Env   []string // the module environment: Env() plus the properties
	Store *store.Store
	Out   bytes.Buffer // stdout and stderr of the module and its programs
	Log   *Log
}

// NewFixture returns a fixture for a container of type typ with the given
// key=value properties.
func NewFixture(tb testing.TB, typ string, props ...string) *Fixture {
	tb.Helper()
	f := &Fixture{Type: typ, Store: store.Open(filepath.Join(tb.TempDir(), "state")), Log: &Log{}}
	f.Env = Env()
	for _, kv := range props {
		k, v, _ := strings.Cut(kv, "=")
		f.Props.Set(config.Property{Key: k, Values: []string{v}})
		f.Env = append(f.Env, kv)
	}
	return f
}

// Request builds the request for act on the component at path.
func (f *Fixture) Request(act module.Activity, path string) *module.Request {
	return &module.Request{
		Activity:  act,
		Component: module.Component{Name: config.NameOf(path), Path: path},
		Container: module.Container{Name: f.Type, Arg: f.Type, Type: f.Type, Properties: f.Props},
		Store:     f.Store,
		Env:       f.Env,
		Stdout:    &f.Out,
		Stderr:    &f.Out,
		Report:    f.Log,
	}
}

// Run runs act on the component at path with m.
func (f *Fixture) Run(m module.Module, act module.Activity, path string) error {
	return m.Run(context.Background(), f.Request(act, path))
}

// MustRun is Run that fails the test on an error.
func (f *Fixture) MustRun(tb testing.TB, m module.Module, act module.Activity, path string) {
	tb.Helper()
	if err := f.Run(m, act, path); err != nil {
		tb.Fatalf("%s %s: %v\noutput:\n%s", act, filepath.Base(path), err, f.Out.String())
	}
}

// Active reports whether the component at path is marked active.
func (f *Fixture) Active(tb testing.TB, path string) bool {
	tb.Helper()
	ok, err := f.Store.IsActive(store.Key{Container: f.Type, Component: config.NameOf(path)})
	if err != nil {
		tb.Fatal(err)
	}
	return ok
}

// Log is a ui.Reporter that keeps what it is told.
type Log struct {
	mu           sync.Mutex
	Infos, Warns []string
}

// Infof implements ui.Reporter.
func (l *Log) Infof(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Infos = append(l.Infos, fmt.Sprintf(format, args...))
}

// Warnf implements ui.Reporter.
func (l *Log) Warnf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Warns = append(l.Warns, fmt.Sprintf(format, args...))
}

// Progress implements ui.Reporter.
func (l *Log) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }

// Warned reports whether a warning contains s.
func (l *Log) Warned(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.Warns {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}
