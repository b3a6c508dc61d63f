// Package service holds what the process and service modules share: the
// user accounts and groups of a component around its activation (package
// users, as upstream's dysnomia-addusers & co.), the activate-or-roll-back
// shape, links from a component into a process manager's directory, pid
// files, and waiting with exact timeouts.
//
// These modules are stateless: activate marks the component active,
// deactivate removes the marker, and there is no collect-garbage.
package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/program"
	"github.com/dysnomia-go/dysnomia/internal/ui"
	"github.com/dysnomia-go/dysnomia/internal/users"
)

// Report returns the request's reporter, or one that drops everything.
func Report(req *module.Request) ui.Reporter {
	if req.Report == nil {
		return ui.Discard
	}
	return req.Report
}

// Runner runs programs with the request's environment and streams.
func Runner(req *module.Request) program.Runner {
	return program.Runner{Env: req.Env, Stdout: req.Stdout, Stderr: req.Stderr}
}

func accounts(req *module.Request, attempts int) *users.Manager {
	return &users.Manager{Env: req.Env, Stdout: req.Stdout, Stderr: req.Stderr, Report: Report(req), Attempts: attempts}
}

// AddAccounts creates the groups, then the users, the component declares.
func AddAccounts(ctx context.Context, req *module.Request) error {
	m := accounts(req, 1)
	if err := m.AddGroups(ctx, req.Component.Path); err != nil {
		return err
	}
	return m.AddUsers(ctx, req.Component.Path)
}

// RemoveAccounts deletes the users, then the groups, the component
// declares, each deletion tried up to attempts times a second apart.
func RemoveAccounts(ctx context.Context, req *module.Request, attempts int) error {
	m := accounts(req, attempts)
	return errors.Join(m.DelUsers(ctx, req.Component.Path), m.DelGroups(ctx, req.Component.Path))
}

// Activate is the activation of a process or service module: create the
// component's accounts, run start, and mark the component active. If start
// (or the accounts) fail, cleanup undoes what start did, with the
// component, and the accounts are removed again; the error names what
// failed first; each account deletion is tried up to attempts times.
func Activate(ctx context.Context, req *module.Request, start, cleanup func() error, attempts int) error {
	err := AddAccounts(ctx, req)
	if err == nil {
		err = start()
	}
	if err != nil {
		err = fmt.Errorf("activate %s in %s: %w", req.Component.Name, req.Container.Name, err)
		var rb []error
		if cleanup != nil {
			rb = append(rb, cleanup())
		}
		rb = append(rb, RemoveAccounts(ctx, req, attempts))
		if e := errors.Join(rb...); e != nil {
			return fmt.Errorf("%w; rolling back failed too: %v", err, e)
		}
		return err
	}
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

// Deactivate is the deactivation of a process or service module: stop, then
// remove the component's accounts (each deletion tried up to attempts
// times), then remove the activated marker. A failed stop leaves the
// accounts and the marker.
func Deactivate(ctx context.Context, req *module.Request, stop func() error, attempts int) error {
	if err := stop(); err != nil {
		return fmt.Errorf("deactivate %s in %s: %w", req.Component.Name, req.Container.Name, err)
	}
	if err := RemoveAccounts(ctx, req, attempts); err != nil {
		return fmt.Errorf("deactivate %s in %s: %w", req.Component.Name, req.Container.Name, err)
	}
	return req.Store.UnmarkActive(req.Key())
}

// Seconds reads a container property holding a whole number of seconds.
func Seconds(req *module.Request, key string, def int) (time.Duration, error) {
	v := req.Property(key, "")
	if v == "" {
		return time.Duration(def) * time.Second, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("container %s: property %s=%q is not a whole number of seconds", req.Container.Name, key, v)
	}
	return time.Duration(n) * time.Second, nil
}

// Flag reads a container property that is on when it is "1" (upstream's
// convention).
func Flag(req *module.Request, key string) bool { return req.Property(key, "") == "1" }

// Help prints a shell session's help to standard error.
func Help(req *module.Request, lines ...string) {
	for _, l := range lines {
		fmt.Fprintln(req.Stderr, l)
	}
}
