package process

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

func activate(ctx context.Context, req *module.Request, s *spec) error {
	start := func() error {
		pid, ok, err := running(req, s)
		if err != nil {
			return err
		}
		if ok {
			service.Report(req).Infof("process %s is running already (pid %d in %s); not starting it again", req.Component.Name, pid, s.PidFile)
			return nil
		}
		if err := service.Runner(req).Run(ctx, s.Argv[0], s.Argv[1:]...); err != nil {
			return err
		}
		up, err := service.WaitFor(ctx, s.Timeout, func() (bool, error) {
			pid, ok, err := service.ReadPid(s.PidFile)
			return ok && err == nil && service.Alive(pid), nil
		})
		if err != nil {
			return err
		}
		if !up {
			service.Report(req).Warnf("no pid file %s naming a running process %s after starting %s: the daemon may write it later, or not at all, and then cannot be stopped by deactivate; check the process, or raise the container's timeout",
				s.PidFile, s.Timeout, s.Argv[0])
		}
		return nil
	}
	// A failed start may still have left a daemon behind.
	cleanup := func() error { return stop(ctx, req, s) }
	return service.Activate(ctx, req, start, cleanup, 1)
}
