package module

import (
	"fmt"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// PrepareContainer builds the request for an activity on a component in a
// container the caller has already resolved. Bulk operations use it: they
// load each container file once, hand modules the real component path
// recorded at activation, and can rebuild a container from its recorded type
// after the container file has gone. The module environment is composed as
// for a container file: the properties, PATH, HOME and the state directory.
func (iv *Invoker) PrepareContainer(act Activity, c Container, componentPath string) (*Request, Module, error) {
	if act == "" {
		return nil, nil, fmt.Errorf("no activity given")
	}
	if c.Type == "" {
		return nil, nil, fmt.Errorf("container %s: %w", c.Arg, ErrNoType)
	}
	if c.Arg == "" {
		c.Arg = c.Type
	}
	if c.Name == "" {
		c.Name = config.NameOf(c.Arg)
	}
	if !filepath.IsAbs(componentPath) {
		return nil, nil, fmt.Errorf("%s in container %s: component path %q is not absolute", act, c.Name, componentPath)
	}
	if err := checkDerived("container", c.Name, c.Arg); err != nil {
		return nil, nil, err
	}
	if err := checkDerived("component", config.NameOf(componentPath), componentPath); err != nil {
		return nil, nil, err
	}
	m, err := iv.Registry.Resolve(c.Type, iv.Env.ModulesPath)
	if err != nil {
		return nil, nil, err
	}
	req := &Request{
		Activity:  act,
		Component: Component{Name: config.NameOf(componentPath), Path: filepath.Clean(componentPath)},
		Container: c,
		Store:     iv.Store,
		Env:       iv.moduleEnv(false, c.Properties),
		Stdin:     iv.Stdin,
		Stdout:    iv.Stdout,
		Stderr:    iv.Stderr,
		Report:    iv.Report,
	}
	return req, m, nil
}
