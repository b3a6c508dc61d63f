package main

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// RestoreCmd puts back a snapshot of a component.
type RestoreCmd struct {
	Target
	Snapshot string `placeholder:"ID" help:"Restore this snapshot of the component (its id, or <container>/<component>/<id> as snapshots list prints it) instead of the latest generation."`
	JSON     bool   `name:"json" help:"Print a JSON document of what was restored (docs/json.md), as the other activities."`
}

// Run implements the command.
func (c *RestoreCmd) Run(ctx context.Context, app *App) error {
	spec := c.spec(module.Restore)
	spec.Snapshot = c.Snapshot
	return runActivity(ctx, app, spec, c.JSON)
}
