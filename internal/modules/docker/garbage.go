package docker

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

func collectGarbage(ctx context.Context, req *module.Request, e *engine, s *settings) error {
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil || !garbage {
		return err
	}
	if err := e.remove(ctx, s); err != nil {
		return err
	}
	return req.Store.UnmarkGarbage(req.Key())
}
