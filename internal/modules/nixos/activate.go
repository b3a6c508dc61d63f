package nixos

import (
	"context"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

func activate(ctx context.Context, req *module.Request, s *settings) error {
	run := service.Runner(req)
	switcher := filepath.Join(req.Component.Path, "bin", "switch-to-configuration")
	if s.Profile {
		if err := run.Run(ctx, "nix-env", "-p", SystemProfile, "--set", req.Component.Path); err != nil {
			return err
		}
		switcher = filepath.Join(SystemProfile, "bin", "switch-to-configuration")
	}
	if err := run.Run(ctx, switcher, s.Action); err != nil {
		return err
	}
	return s.inner(ctx, req, "containers", "deploy")
}

func deactivate(ctx context.Context, req *module.Request, s *settings) error {
	if !s.Profile {
		return nil
	}
	run := service.Runner(req)
	if err := run.Run(ctx, "nix-env", "-p", SystemProfile, "--rollback"); err != nil {
		return err
	}
	if err := run.Run(ctx, filepath.Join(SystemProfile, "bin", "switch-to-configuration"), s.Action); err != nil {
		return err
	}
	return s.inner(ctx, req, "containers", "deploy")
}
