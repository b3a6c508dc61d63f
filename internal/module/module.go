// Package module defines what a Dysnomia module is, the registry that maps
// container types to modules, and the adapter that runs external module
// executables with the upstream protocol.
package module

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Activity is a deployment activity.
type Activity string

// The activities, spelled as on the command line.
const (
	Activate       Activity = "activate"
	Deactivate     Activity = "deactivate"
	Lock           Activity = "lock"
	Unlock         Activity = "unlock"
	Snapshot       Activity = "snapshot"
	Restore        Activity = "restore"
	CollectGarbage Activity = "collect-garbage"
	Shell          Activity = "shell"
)

// Activities lists every activity in the order they are documented.
var Activities = []Activity{Activate, Deactivate, Lock, Unlock, Snapshot, Restore, CollectGarbage, Shell}

// ParseActivity checks an activity name.
func ParseActivity(s string) (Activity, error) {
	for _, a := range Activities {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown activity %q (want one of activate, deactivate, lock, unlock, snapshot, restore, collect-garbage, shell)", s)
}

// Component is the unit of state an activity acts on.
type Component struct {
	Name string // <comp>: the basename without a store hash
	Path string // canonical absolute path of the component
}

// Container is where the component lives.
type Container struct {
	Name       string            // <c>: the container name used in the store
	Arg        string            // the container argument as given (external modules get it verbatim)
	Type       string            // module type
	Properties config.Properties // container properties (without type)
}

// Request is one activity on one component in one container.
type Request struct {
	Activity  Activity
	Component Component
	Container Container

	// Store is the state directory, resolved once by the caller.
	Store *store.Store
	// Env is the environment an external process started by the module
	// gets: for external modules exactly this; native modules use it for
	// the tools they start (PATH in particular).
	Env []string

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Report         ui.Reporter

	// Snapshot selects the snapshot to restore: "" for the latest
	// generation, otherwise a snapshot id of this component.
	Snapshot string
	// Command is what the shell activity runs non-interactively; "" starts
	// an interactive shell.
	Command string
}

// Key is the component's place in the store.
func (r *Request) Key() store.Key {
	return store.Key{Container: r.Container.Name, Component: r.Component.Name}
}

// Property returns a container property, or def when it is absent or empty.
func (r *Request) Property(key, def string) string {
	if v := r.Container.Properties.Lookup(key); v != "" {
		return v
	}
	return def
}

// Module carries out activities for one container type. A module returns nil
// for an activity it does not implement.
type Module interface {
	Run(ctx context.Context, req *Request) error
}

// Func adapts a function to the Module interface.
type Func func(ctx context.Context, req *Request) error

// Run implements Module.
func (f Func) Run(ctx context.Context, req *Request) error { return f(ctx, req) }

// ExitError carries a module's own exit status to the command line, which
// exits with it.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// RestoreTarget picks the snapshot a restore puts back: the one named in
// req.Snapshot (an id, or <container>/<component>/<id> as snapshots list
// prints it, which must name this component), or the latest generation. ok
// is false when the component has no snapshot at all; restore is then a
// no-op, as upstream.
func (r *Request) RestoreTarget() (sn store.Snapshot, ok bool, err error) {
	k := r.Key()
	if r.Snapshot == "" {
		return r.Store.Latest(k)
	}
	id := r.Snapshot
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		if id[:i] != k.String() {
			return sn, false, fmt.Errorf("restore %s: snapshot %s is not one of this component's", k, id)
		}
		id = id[i+1:]
	}
	sn = store.Snapshot{Key: k, ID: id}
	if err := store.ValidSegment(id); err != nil {
		return sn, false, fmt.Errorf("restore %s: snapshot id: %w", k, err)
	}
	if _, err := os.Stat(r.Store.SnapshotDir(sn)); err != nil {
		return sn, false, &store.IntegrityError{Problems: []string{fmt.Sprintf("restore %s: snapshot %s is missing from %s", k, sn.Rel(), r.Store.Dir())}}
	}
	return sn, true, nil
}
