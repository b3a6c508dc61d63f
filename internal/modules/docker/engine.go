package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/program"
)

// engine runs the docker client.
type engine struct{ req *module.Request }

func (e *engine) run(ctx context.Context, args ...string) error {
	return service.Runner(e.req).Run(ctx, "docker", args...)
}

// inspect asks whether a container or image (kind) of that exact name
// exists, and for a container whether it runs.
func (e *engine) inspect(ctx context.Context, kind, name string) (exists, running bool, err error) {
	r := service.Runner(e.req)
	r.Stderr = nil
	format := "{{.Id}}"
	if kind == "container" {
		format = "{{.State.Running}}"
	}
	out, err := r.Output(ctx, "docker", kind, "inspect", "--format", format, name)
	var te *program.Error
	if errors.As(err, &te) && te.Status > 0 && strings.Contains(strings.ToLower(te.Stderr), "no such") {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, strings.TrimSpace(string(out)) == "true", nil
}

// remove removes the container and the image, those that exist.
func (e *engine) remove(ctx context.Context, s *settings) error {
	if ok, _, err := e.inspect(ctx, "container", s.Name); err != nil {
		return err
	} else if ok {
		if err := e.run(ctx, "rm", s.Name); err != nil {
			return err
		}
	}
	if ok, _, err := e.inspect(ctx, "image", s.Tag); err != nil {
		return err
	} else if ok {
		if err := e.run(ctx, "rmi", s.Tag); err != nil {
			return fmt.Errorf("remove image %s: %w", s.Tag, err)
		}
	}
	return nil
}
