package systemd

import (
	"context"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

func (s *settings) start(ctx context.Context, req *module.Request) error {
	if err := service.LinkInto(s.src, s.TargetDir, s.Units); err != nil {
		return err
	}
	if err := os.MkdirAll(s.WantsDir, 0o755); err != nil {
		return err
	}
	units := s.startUnits()
	for _, u := range units {
		if err := service.Symlink(filepath.Join(s.src, u), filepath.Join(s.WantsDir, u)); err != nil {
			return err
		}
	}
	if err := s.systemctl(ctx, req, "daemon-reload"); err != nil {
		return err
	}
	for _, u := range units {
		if err := s.systemctl(ctx, req, "start", u); err != nil {
			return err
		}
	}
	return nil
}
