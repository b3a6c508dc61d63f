// Package supervisord is the supervisord-program module: programs that a
// running supervisord manages, from configuration snippets the component
// carries.
//
// # Component
//
//	conf.d/<name>.conf            supervisord program sections ([program:<name>])
//	dysnomia-support/{users,groups}/  accounts (package users)
//
// # Container properties
//
//	supervisordTargetDir   the directory supervisord includes snippets from;
//	                       default /var/lib/supervisord/conf.d
//	supervisordConfFile    passed to supervisorctl as -c (its configuration,
//	                       which names the server); default: supervisorctl's own
//	                       search (/etc/supervisord.conf, …)
//	supervisordServerUrl   passed to supervisorctl as -s (e.g.
//	                       unix:///run/supervisord.sock); default: from the
//	                       configuration
//
// The last two are this implementation's: upstream always ran plain
// supervisorctl.
//
// # Activities
//
// activate creates the accounts, links every conf.d/ entry into the target
// directory (creating it), and runs supervisorctl reread and update, which
// starts the new programs; then it marks the component active. If a step
// fails, the links are removed again, supervisord is updated and the
// accounts are removed. deactivate stops each program (supervisorctl stop
// <name>, the snippet's name without .conf; a failing stop is a warning),
// removes the links that point into this component, runs reread and update
// (which removes the programs), deletes the accounts and removes the marker.
// supervisorctl runs with the module's environment, as an argument vector.
package supervisord

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

// DefaultTargetDir is the supervisordTargetDir property's default.
const DefaultTargetDir = "/var/lib/supervisord/conf.d"

type settings struct {
	TargetDir string
	Snippets  []string // names in conf.d/
	ctlArgs   []string // -c / -s options of supervisorctl
}

func loadSettings(req *module.Request) (*settings, error) {
	s := &settings{TargetDir: req.Property("supervisordTargetDir", DefaultTargetDir)}
	if !filepath.IsAbs(s.TargetDir) {
		return nil, fmt.Errorf("container %s: supervisordTargetDir=%q is not an absolute path", req.Container.Name, s.TargetDir)
	}
	if c := req.Property("supervisordConfFile", ""); c != "" {
		s.ctlArgs = append(s.ctlArgs, "-c", c)
	}
	if u := req.Property("supervisordServerUrl", ""); u != "" {
		s.ctlArgs = append(s.ctlArgs, "-s", u)
	}
	var err error
	s.Snippets, err = service.Entries(filepath.Join(req.Component.Path, "conf.d"))
	return s, err
}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.Shell:
	default:
		return nil
	}
	s, err := loadSettings(req)
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	switch req.Activity {
	case module.Activate:
		return activate(ctx, req, s)
	case module.Deactivate:
		return service.Deactivate(ctx, req, func() error { return cleanup(ctx, req, s, true) }, 1)
	}
	lines := []string{"Programs of " + req.Component.Name + " under supervisord:"}
	for _, n := range s.Snippets {
		p := program(n)
		lines = append(lines, "  supervisorctl "+strings.Join(append(s.ctlArgs, "start|stop|status", p), " "))
	}
	service.Help(req, lines...)
	return nil
}

// program is the program a snippet defines, by upstream's convention.
func program(snippet string) string { return strings.TrimSuffix(snippet, ".conf") }

func (s *settings) ctl(ctx context.Context, req *module.Request, args ...string) error {
	return service.Runner(req).Run(ctx, "supervisorctl", append(append([]string{}, s.ctlArgs...), args...)...)
}

func (s *settings) apply(ctx context.Context, req *module.Request) error {
	if err := s.ctl(ctx, req, "reread"); err != nil {
		return err
	}
	return s.ctl(ctx, req, "update")
}

func activate(ctx context.Context, req *module.Request, s *settings) error {
	start := func() error {
		if err := service.LinkInto(filepath.Join(req.Component.Path, "conf.d"), s.TargetDir, s.Snippets); err != nil {
			return err
		}
		return s.apply(ctx, req)
	}
	return service.Activate(ctx, req, start, func() error { return cleanup(ctx, req, s, false) }, 1)
}

// cleanup takes the component's programs out of supervisord: with stop,
// each is stopped first.
func cleanup(ctx context.Context, req *module.Request, s *settings, stop bool) error {
	src := filepath.Join(req.Component.Path, "conf.d")
	for _, n := range s.Snippets {
		if stop && service.PointsInto(filepath.Join(s.TargetDir, n), src) {
			if err := s.ctl(ctx, req, "stop", program(n)); err != nil {
				service.Report(req).Warnf("stop %s: %v", program(n), err)
			}
		}
	}
	return errors.Join(service.UnlinkFrom(src, s.TargetDir, s.Snippets), s.apply(ctx, req))
}
