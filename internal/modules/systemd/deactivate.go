package systemd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// cleanup stops the component's units and removes every link to it, then
// reloads the manager. It goes on after a failure and reports all of them.
func (s *settings) cleanup(ctx context.Context, req *module.Request) error {
	var errs []error
	for _, kind := range []string{".socket", ".timer", ".service"} {
		for _, u := range s.Units {
			if !strings.HasSuffix(u, kind) || !service.PointsInto(filepath.Join(s.TargetDir, u), s.src) {
				continue
			}
			errs = append(errs, s.systemctl(ctx, req, "stop", u))
			errs = append(errs, service.UnlinkFrom(s.src, s.WantsDir, []string{u}))
		}
	}
	errs = append(errs, service.UnlinkFrom(s.src, s.TargetDir, s.Units))
	// The wants links of units whose unit link is gone already.
	errs = append(errs, service.UnlinkFrom(s.src, s.WantsDir, s.Units))
	if _, err := os.Stat(s.TargetDir); err == nil {
		errs = append(errs, s.systemctl(ctx, req, "daemon-reload"))
	}
	return errors.Join(errs...)
}
