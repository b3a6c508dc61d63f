// Package wrapper is the wrapper module: every activity runs the
// component's own bin/wrapper program with the activity and the container
// argument, so a component can carry its own deployment logic.
package wrapper

import (
	"context"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module implements module.Module.
type Module struct{}

// Run executes <component>/bin/wrapper <activity> <container> with the
// container properties in its environment; its exit status is passed
// through. Shell sessions get a note only.
func (Module) Run(ctx context.Context, req *module.Request) error {
	if req.Activity == module.Shell {
		return nil
	}
	wrapper := &module.External{Path: filepath.Join(req.Component.Path, "bin", "wrapper")}
	return wrapper.RunArgs(ctx, req, string(req.Activity), req.Container.Arg)
}
