package process

import (
	"context"
	"os"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

func deactivate(ctx context.Context, req *module.Request, s *spec) error {
	return service.Deactivate(ctx, req, func() error { return stop(ctx, req, s) }, 1)
}

// stop ends the process the pid file names and waits until it has exited.
// A pid file it leaves behind is removed.
func stop(ctx context.Context, req *module.Request, s *spec) error {
	pid, ok, err := running(req, s)
	if err != nil {
		return err
	}
	if !ok {
		service.Report(req).Infof("process %s is not running (no live pid in %s)", req.Component.Name, s.PidFile)
		return nil
	}
	if err := service.Stop(ctx, pid, s.StopTimeout, service.Report(req)); err != nil {
		return err
	}
	if left, ok, _ := service.ReadPid(s.PidFile); ok && left == pid {
		if err := os.Remove(s.PidFile); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
