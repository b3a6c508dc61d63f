// Package nixos is the nixos-configuration module: a whole NixOS system
// (a system toplevel) deployed as a component, together with the state that
// the system's own Dysnomia configuration declares. That inner Dysnomia has
// its own state directory; this module drives it by running this dysnomia
// binary with DYSNOMIA_STATEDIR set to it.
//
// # Container properties (or, with --environment, the environment)
//
//	disableNixOSSystemProfile   non-empty: do not set the system profile, only
//	                            run the component's switch-to-configuration
//	testNixOS                   non-empty: switch with "test" (no boot entry)
//	                            instead of "switch"
//	noHardlink                  non-empty: copy snapshots between the two
//	                            stores instead of hard-linking them
//	DYSNOMIA_NIXOS_STATEDIR     the inner state directory; default
//	                            /var/state/dysnomia-nixos
//
// # Activities
//
// activate sets /nix/var/nix/profiles/system to the component (nix-env
// --set) and runs the profile's bin/switch-to-configuration (or, without
// the profile, the component's), then deploys the inner containers
// (`dysnomia containers deploy`). deactivate, in profile mode only, rolls
// the profile back, switches to it and deploys again. No markers are
// written, as upstream.
//
// snapshot snapshots every inner component (`containers snapshot`), and
// stores one outer snapshot holding a copy of each inner latest snapshot at
// <container>/<component>/<id>; its id is the sha256 of the inner latest
// list joined by spaces plus a newline, as upstream, so an unchanged system
// adds no generation. restore puts each inner snapshot of the chosen outer
// one back into the inner store (as its latest generation) and restores
// every inner component (`containers restore --yes`). collect-garbage runs
// the inner `containers collect-garbage`.
package nixos

import (
	"context"
	"fmt"
	"os"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/program"
)

// Module implements module.Module. Self is the dysnomia binary the inner
// calls run; "" means this process's own executable.
type Module struct {
	Self string
}

// Defaults.
const (
	DefaultInnerStateDir = "/var/state/dysnomia-nixos"
	SystemProfile        = "/nix/var/nix/profiles/system"
)

type settings struct {
	Profile  bool   // set the system profile
	Action   string // switch or test
	Hardlink bool
	Inner    string // inner state directory
	self     string
}

func (m Module) settings(req *module.Request) (*settings, error) {
	s := &settings{
		Profile:  req.Property("disableNixOSSystemProfile", "") == "",
		Action:   "switch",
		Hardlink: req.Property("noHardlink", "") == "",
		Inner:    req.Property("DYSNOMIA_NIXOS_STATEDIR", req.Getenv("DYSNOMIA_NIXOS_STATEDIR")),
		self:     m.Self,
	}
	if req.Property("testNixOS", "") != "" {
		s.Action = "test"
	}
	if s.Inner == "" {
		s.Inner = DefaultInnerStateDir
	}
	if s.self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the dysnomia binary for the inner calls: %w", err)
		}
		s.self = exe
	}
	return s, nil
}

// Run implements module.Module.
func (m Module) Run(ctx context.Context, req *module.Request) error {
	s, err := m.settings(req)
	if err != nil {
		return err
	}
	switch req.Activity {
	case module.Activate:
		err = activate(ctx, req, s)
	case module.Deactivate:
		err = deactivate(ctx, req, s)
	case module.Snapshot:
		err = snapshot(ctx, req, s)
	case module.Restore:
		err = restore(ctx, req, s)
	case module.CollectGarbage:
		err = s.inner(ctx, req, "containers", "collect-garbage")
	case module.Shell:
		service.Help(req, "NixOS configuration "+req.Component.Path+"; its own Dysnomia state is in "+s.Inner+":",
			"  DYSNOMIA_STATEDIR="+s.Inner+" dysnomia containers activated",
			"  DYSNOMIA_STATEDIR="+s.Inner+" dysnomia snapshots list")
	}
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	return nil
}

// inner runs this binary on the inner state directory.
func (s *settings) inner(ctx context.Context, req *module.Request, args ...string) error {
	r := service.Runner(req)
	r.Env = program.Setenv(req.Env, "DYSNOMIA_STATEDIR", s.Inner)
	return r.Run(ctx, s.self, args...)
}

func (s *settings) innerOutput(ctx context.Context, req *module.Request, args ...string) ([]byte, error) {
	r := service.Runner(req)
	r.Env = program.Setenv(req.Env, "DYSNOMIA_STATEDIR", s.Inner)
	return r.Output(ctx, s.self, args...)
}
