package main

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// RestoreCmd puts back a snapshot of a component.
type RestoreCmd struct {
	Target
	Snapshot string `placeholder:"ID" help:"Restore this snapshot of the component (its id, or <container>/<component>/<id> as snapshots list prints it) instead of the latest generation."`
}

// Run implements the command.
func (c *RestoreCmd) Run(ctx context.Context, app *App) error {
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	spec := c.spec(module.Restore)
	spec.Snapshot = c.Snapshot
	return iv.Run(ctx, spec)
}
