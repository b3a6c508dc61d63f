package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/system"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// App is what every command needs from its process: streams, environment,
// and the resolved settings. Commands receive it through kong bindings.
type App struct {
	Prog    string // the name the binary was invoked as
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
	Report  *ui.Text
	Globals *Globals
}

// Getenv looks a variable up in the environment run was given.
func (a *App) Getenv(key string) string {
	v, _ := lookupEnv(a.Environ, key)
	return v
}

// Env returns the search paths and state directory, with --state-dir
// overriding DYSNOMIA_STATEDIR.
func (a *App) Env() config.Environment {
	env := config.FromEnv(a.Getenv)
	if a.Globals != nil && a.Globals.StateDir != "" {
		env.StateDir = a.Globals.StateDir
	}
	return env
}

// ShellMode is the parse mode for container and properties files.
func (a *App) ShellMode() (config.ShellMode, error) {
	return config.ParseShellMode(a.shellValues())
}

// ShellModeOr is ShellMode with def when neither --shell-values nor
// DYSNOMIA_SHELL_VALUES is given.
func (a *App) ShellModeOr(def config.ShellMode) (config.ShellMode, error) {
	if a.shellValues() == "" {
		return def, nil
	}
	return a.ShellMode()
}

func (a *App) shellValues() string {
	if a.Globals != nil && a.Globals.ShellValues != "" {
		return a.Globals.ShellValues
	}
	return a.Getenv("DYSNOMIA_SHELL_VALUES")
}

// Store opens the state directory.
func (a *App) Store() (*store.Store, error) {
	s := store.Open(a.Env().StateDir)
	s.Report = a.Report
	s.Version = version
	if a.Globals != nil && a.Globals.LockTimeout != "" {
		d, err := time.ParseDuration(a.Globals.LockTimeout)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("--lock-timeout %q: want a duration such as 30s or 5m", a.Globals.LockTimeout)
		}
		s.LockTimeout = d
	}
	return s, nil
}

// ExistingStore is Store for commands that only read or prune what is
// there (list, latest, check, gc, export, resolve). A state directory that
// was given (--state-dir or DYSNOMIA_STATEDIR) and does not exist is an
// error naming it: most likely a typo, and "0 snapshots, 0 problems" would
// hide it. The default directory of a machine where nothing was ever
// stored counts as empty, with a warning; so does any missing one, silently,
// for the upstream tool name dysnomia-snapshots, whose callers (Disnix)
// expect upstream's behaviour.
func (a *App) ExistingStore() (*store.Store, error) {
	s, err := a.Store()
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(s.Dir())
	switch {
	case err == nil && fi.IsDir():
		return s, nil
	case err == nil:
		return nil, fmt.Errorf("state directory %s is not a directory", s.Dir())
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("state directory %s: %w", s.Dir(), err)
	}
	if a.Prog == "dysnomia-snapshots" {
		return s, nil // upstream: a missing store is empty, silently
	}
	given := a.Getenv("DYSNOMIA_STATEDIR") != "" || (a.Globals != nil && a.Globals.StateDir != "")
	if given {
		from := "DYSNOMIA_STATEDIR"
		if a.Globals != nil && a.Globals.StateDir != "" {
			from = "--state-dir"
		}
		return nil, fmt.Errorf("state directory %s (%s) does not exist", s.Dir(), from)
	}
	a.Report.Warnf("state directory %s does not exist: nothing has been stored here", s.Dir())
	return s, nil
}

// Invoker returns the activity runner for this process.
func (a *App) Invoker() (*module.Invoker, error) {
	mode, err := a.ShellMode()
	if err != nil {
		return nil, err
	}
	st, err := a.Store()
	if err != nil {
		return nil, err
	}
	return &module.Invoker{
		Registry:            modules.Registry(),
		Env:                 a.Env(),
		Environ:             a.Environ,
		ShellMode:           mode,
		Store:               st,
		ComponentProperties: declaredProperties(st.Dir()),
		Stdin:               a.Stdin,
		Stdout:              a.Stdout,
		Stderr:              a.Stderr,
		Report:              a.Report,
	}, nil
}

// declaredProperties finds a component's own properties in what system
// switch applied to this state directory, so that a component declared in
// a system config (a fileset's targetDir, say) works by name with every
// single-component command, as it did in the switch. Only an entry for the
// same component at the same path counts.
func declaredProperties(stateDir string) func(store.Key, string) (config.Properties, error) {
	var rec *system.Record
	return func(k store.Key, path string) (config.Properties, error) {
		if rec == nil {
			r, _, err := system.LoadRecord(stateDir)
			if err != nil {
				return nil, err
			}
			rec = r
		}
		for _, e := range rec.Entries {
			if e.Key == k && e.Path == path {
				return e.Properties, nil
			}
		}
		return nil, nil
	}
}

func lookupEnv(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
