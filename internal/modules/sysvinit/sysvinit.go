// Package sysvinit is the sysvinit-script module: services started and
// stopped by SysV-style init scripts that the component carries.
//
// # Component
//
//	etc/rc.d/rc<runlevel>.d/S<NN><name>   start links (or scripts) for the runlevel
//	etc/rc.d/init.d/<name>                the init scripts (for the shell help)
//	dysnomia-support/{users,groups}/      accounts (package users)
//
// # Container properties
//
//	runlevel   the runlevel whose directory is used; default 3
//
// # Activities
//
// activate creates the accounts, then runs every S entry of the runlevel's
// directory with "start", in byte-wise order of their names, and marks the
// component active. If one fails, the entries already started are stopped
// again (in reverse order) and the accounts removed. deactivate runs the S
// entries with "stop" in reverse order, then deletes the accounts and
// removes the marker; a failing stop does not keep the others from being
// stopped.
//
// K entries are not run: in a runlevel directory they stop services when the
// system enters that runlevel, which neither activation nor deactivation of
// this component does (upstream ran every entry with start, K ones too).
// Entries that are neither S nor K are ignored with a warning. The scripts
// run with the module's environment, as argument vectors.
package sysvinit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

// DefaultRunlevel is the runlevel property's default.
const DefaultRunlevel = "3"

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.Shell:
	default:
		return nil
	}
	scripts, err := startScripts(req)
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	switch req.Activity {
	case module.Activate:
		return activate(ctx, req, scripts)
	case module.Deactivate:
		return deactivate(ctx, req, scripts)
	}
	return shell(req)
}

// startScripts lists the S entries of the runlevel directory, in order.
func startScripts(req *module.Request) ([]string, error) {
	level := req.Property("runlevel", DefaultRunlevel)
	if n, err := strconv.Atoi(level); err != nil || n < 0 || n > 6 {
		if level != "S" && level != "s" {
			return nil, fmt.Errorf("container %s: property runlevel=%q is not a runlevel (0-6 or S)", req.Container.Name, level)
		}
	}
	dir := filepath.Join(req.Component.Path, "etc", "rc.d", "rc"+level+".d")
	names, err := service.Entries(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "S"):
			out = append(out, filepath.Join(dir, n))
		case strings.HasPrefix(n, "K"):
		default:
			service.Report(req).Warnf("%s: neither a start (S) nor a kill (K) entry; ignored", filepath.Join(dir, n))
		}
	}
	return out, nil
}

func activate(ctx context.Context, req *module.Request, scripts []string) error {
	var started []string
	start := func() error {
		for _, s := range scripts {
			if err := service.Runner(req).Run(ctx, s, "start"); err != nil {
				return err
			}
			started = append(started, s)
		}
		return nil
	}
	cleanup := func() error { return stopAll(ctx, req, started) }
	return service.Activate(ctx, req, start, cleanup, 1)
}

func deactivate(ctx context.Context, req *module.Request, scripts []string) error {
	return service.Deactivate(ctx, req, func() error { return stopAll(ctx, req, scripts) }, 1)
}

// stopAll runs each script with stop, in reverse order, and reports every
// failure.
func stopAll(ctx context.Context, req *module.Request, scripts []string) error {
	var errs []error
	for _, s := range slices.Backward(scripts) {
		errs = append(errs, service.Runner(req).Run(ctx, s, "stop"))
	}
	return errors.Join(errs...)
}

func shell(req *module.Request) error {
	dir := filepath.Join(req.Component.Path, "etc", "rc.d", "init.d")
	names, err := service.Entries(dir)
	if err != nil {
		return err
	}
	lines := []string{"SysV init scripts of " + req.Component.Name + ":"}
	for _, n := range names {
		p := filepath.Join(dir, n)
		lines = append(lines, "  "+p+" start|stop|status")
	}
	service.Help(req, lines...)
	return nil
}
