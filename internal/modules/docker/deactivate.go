package docker

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

func deactivate(ctx context.Context, req *module.Request, e *engine, s *settings) error {
	_, running, err := e.inspect(ctx, "container", s.Name)
	if err != nil {
		return err
	}
	if running {
		if err := e.run(ctx, "stop", "-t", s.StopTimeout, s.Name); err != nil {
			return err
		}
	}
	if s.Stateless {
		return e.remove(ctx, s)
	}
	return req.Store.MarkGarbage(req.Key())
}
