package docker

import (
	"context"
	"errors"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

func activate(ctx context.Context, req *module.Request, e *engine, s *settings) error {
	if s.Image != "" {
		if err := e.run(ctx, "load", "-i", s.Image); err != nil {
			return err
		}
	}
	exists, _, err := e.inspect(ctx, "container", s.Name)
	if err != nil {
		return err
	}
	if !exists {
		args := append([]string{"create"}, s.CreateParams...)
		if err := e.run(ctx, append(args, "--name", s.Name, s.Tag)...); err != nil {
			return err
		}
	}
	if err := e.run(ctx, "start", s.Name); err != nil {
		if !exists {
			err = errors.Join(err, e.run(ctx, "rm", s.Name))
		}
		return err
	}
	if s.Stateless {
		return nil
	}
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}
