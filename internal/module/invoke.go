package module

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/name"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Spec is one activity as asked for on the command line, before resolution.
type Spec struct {
	Activity    Activity
	Component   string // -c: a path ("/…", "./…") or a name looked up in the components path
	Container   string // -C: a path or a name looked up in the containers path
	Type        string // -t: the module type, required with Environment
	Environment bool   // -E: properties come from the caller's environment
	Snapshot    string // restore: a snapshot id instead of the latest
	Command     string // shell: commands to run
}

// Invoker resolves Specs into Requests and runs them.
type Invoker struct {
	Registry  *Registry
	Env       config.Environment
	Environ   []string // the caller's environment, as os.Environ
	ShellMode config.ShellMode
	Store     *store.Store
	// ComponentProperties, when set, returns the properties a component
	// declares itself (a system config's per-component properties), for
	// the component k at path; they are merged over the container file's
	// properties, as system switch merges them. Not used with
	// --environment, where the caller passes every property.
	ComponentProperties func(k store.Key, path string) (config.Properties, error)

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Report         ui.Reporter
}

// Error kinds a caller may want to tell apart.
var (
	ErrNoContainer = errors.New("no container given: use --container NAME|PATH, or --environment with --type")
	ErrNoComponent = errors.New("no component given: use --component NAME|PATH")
	ErrNoType      = errors.New("no module type")
)

// Prepare resolves spec the way upstream's dysnomia does (container,
// component, then module) and returns the request and the module to run it.
func (iv *Invoker) Prepare(spec Spec) (*Request, Module, error) {
	if spec.Activity == "" {
		return nil, nil, errors.New("no activity given")
	}
	// Names are checked before anything is looked up or run, so that a
	// hostile or mistyped name has no effect at all.
	if err := checkArg("--container", spec.Container); err != nil {
		return nil, nil, err
	}
	if err := checkArg("--component", spec.Component); err != nil {
		return nil, nil, err
	}
	var c Container
	switch {
	case spec.Environment:
		if spec.Type == "" {
			return nil, nil, fmt.Errorf("--environment needs --type: %w", ErrNoType)
		}
		c = Container{Arg: spec.Container, Type: spec.Type, Properties: environProperties(iv.Environ)}
	case spec.Container == "":
		return nil, nil, ErrNoContainer
	default:
		file := spec.Container
		if config.IsPath(file) {
			var err error
			if file, err = config.Canonical(file); err != nil {
				return nil, nil, err
			}
		} else {
			var err error
			if file, err = config.FindContainer(spec.Container, iv.Env.ContainersPath); err != nil {
				return nil, nil, err
			}
		}
		cf, err := config.LoadContainer(file, iv.ShellMode)
		if err != nil {
			return nil, nil, err
		}
		c = Container{Arg: spec.Container, Type: cf.Type, Properties: cf.Properties}
		if c.Type == "" {
			c.Type = spec.Type
		}
		if c.Type == "" {
			return nil, nil, fmt.Errorf("container file %s has no type= line and no --type was given: %w", file, ErrNoType)
		}
	}
	if c.Arg == "" {
		c.Arg = c.Type
	}
	c.Name = config.NameOf(c.Arg)
	if err := checkDerived("container", c.Name, c.Arg); err != nil {
		return nil, nil, err
	}

	if spec.Component == "" {
		return nil, nil, ErrNoComponent
	}
	var comp Component
	if config.IsPath(spec.Component) {
		p, err := config.Canonical(spec.Component)
		if err != nil {
			return nil, nil, err
		}
		comp = Component{Path: p}
	} else {
		p, err := config.FindComponent(c.Arg, spec.Component, iv.Env.ComponentsPath)
		if err != nil {
			return nil, nil, err
		}
		comp = Component{Path: p}
	}
	comp.Name = config.NameOf(comp.Path)
	if err := checkDerived("component", comp.Name, spec.Component); err != nil {
		return nil, nil, err
	}

	if !spec.Environment && iv.ComponentProperties != nil {
		own, err := iv.ComponentProperties(store.Key{Container: c.Name, Component: comp.Name}, comp.Path)
		if err != nil {
			return nil, nil, err
		}
		if len(own) > 0 {
			merged := append(config.Properties(nil), c.Properties...)
			for _, p := range own {
				merged.Set(p)
			}
			c.Properties = merged
		}
	}

	m, err := iv.Registry.Resolve(c.Type, iv.Env.ModulesPath)
	if err != nil {
		return nil, nil, err
	}
	req := &Request{
		Activity:  spec.Activity,
		Component: comp,
		Container: c,
		Store:     iv.Store,
		Env:       iv.moduleEnv(spec.Environment, c.Properties),
		Stdin:     iv.Stdin,
		Stdout:    iv.Stdout,
		Stderr:    iv.Stderr,
		Report:    iv.Report,
		Snapshot:  spec.Snapshot,
		Command:   spec.Command,
	}
	return req, m, nil
}

// checkArg checks a --container or --component value given as a name (not
// as a path starting with "/" or "./"): it is looked up as one entry of a
// search directory, so it must be a valid name itself — "a/b" or "../x"
// would reach outside the directory or act on another component.
func checkArg(flag, v string) error {
	if v == "" || config.IsPath(v) {
		return nil
	}
	if err := name.Check(v); err != nil {
		return fmt.Errorf("%s %s: %w (to name it by its path, start the path with / or ./)", flag, strconv.Quote(v), err)
	}
	return nil
}

// checkDerived checks the name a container or component gets from its
// argument (the base name of a path, without a store hash).
func checkDerived(what, n, arg string) error {
	if err := name.Check(n); err != nil {
		return fmt.Errorf("%s %s: %w", what, strconv.Quote(arg), err)
	}
	return nil
}

// Run prepares and runs spec. The shell activity is handed to RunShell.
func (iv *Invoker) Run(ctx context.Context, spec Spec) error {
	req, m, err := iv.Prepare(spec)
	if err != nil {
		return err
	}
	if req.Activity == Shell {
		req.Env = iv.shellEnv(req)
		return RunShell(ctx, req, m)
	}
	return m.Run(ctx, req)
}

// moduleEnv composes the environment of a module process. With a container
// file it is cleared down to the properties, PATH, HOME and the resolved
// state directory; in --environment mode the caller's environment is kept.
// Either way DYSNOMIA_STATEDIR is the directory this process resolved, so
// that a module and the tools agree on it.
func (iv *Invoker) moduleEnv(environment bool, props config.Properties) []string {
	var env []string
	if environment {
		env = withoutKeys(iv.Environ, "DYSNOMIA_STATEDIR")
	} else {
		env = props.Env()
		for _, k := range []string{"PATH", "HOME"} {
			if v, ok := lookup(iv.Environ, k); ok && !props.Has(k) {
				env = append(env, k+"="+v)
			}
		}
		env = withoutKeys(env, "DYSNOMIA_STATEDIR")
	}
	return append(env, "DYSNOMIA_STATEDIR="+iv.Store.Dir())
}

// environProperties turns the caller's environment into properties, for
// native modules in --environment mode.
func environProperties(environ []string) config.Properties {
	var ps config.Properties
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			ps.Set(config.Property{Key: k, Values: []string{v}})
		}
	}
	return ps
}

func lookup(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

func withoutKeys(environ []string, keys ...string) []string {
	out := make([]string, 0, len(environ))
next:
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		for _, drop := range keys {
			if k == drop {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// Getenv looks a variable up in the request's environment.
func (r *Request) Getenv(key string) string {
	v, _ := lookup(r.Env, key)
	return v
}
