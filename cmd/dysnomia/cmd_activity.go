package main

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ActivityCmd runs one activity on one component. The same type serves
// activate, deactivate, lock, unlock, snapshot and collect-garbage: they
// differ only in the activity, which is the command's name.
type ActivityCmd struct {
	Target
	JSON bool `name:"json" help:"Print a JSON document of what was done (docs/json.md): {version, activity, container, component, componentPath, type, ok, error, snapshot}; the module's own output goes to standard error."`
}

// Target selects a component and its container, with upstream's flags.
type Target struct {
	Component   string `short:"c" required:"" placeholder:"NAME|PATH" help:"The component: a path (starting with / or ./), or a name looked up in DYSNOMIA_COMPONENTS_PATH/<container>/."`
	Container   string `short:"C" placeholder:"NAME|PATH" help:"The container: a container file path, or a name looked up in DYSNOMIA_CONTAINERS_PATH. With --environment, only a name."`
	Type        string `short:"t" placeholder:"TYPE" help:"Module type, or a path to a module executable or package. Required with --environment; otherwise the container file's type= line wins."`
	Environment bool   `short:"E" help:"Take the container properties from the environment instead of a container file (how Disnix calls dysnomia)."`
}

func (t Target) spec(act module.Activity) module.Spec {
	return module.Spec{Activity: act, Component: t.Component, Container: t.Container, Type: t.Type, Environment: t.Environment}
}

// Run implements the command.
func (c *ActivityCmd) Run(ctx context.Context, kctx *kong.Context, app *App) error {
	act, err := module.ParseActivity(kctx.Selected().Name)
	if err != nil {
		return err
	}
	return runActivity(ctx, app, c.spec(act), c.JSON)
}

// runActivity runs one activity; with asJSON it prints the activity's
// document (docs/json.md) on standard output, and sends the module's own
// output to standard error.
func runActivity(ctx context.Context, app *App, spec module.Spec, asJSON bool) error {
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	if !asJSON {
		return iv.Run(ctx, spec)
	}
	iv.Stdout = app.Stderr
	req, m, err := iv.Prepare(spec)
	if err != nil {
		return err
	}
	k := req.Key()
	doc := activityJSON{Version: jsonVersion, Activity: string(req.Activity), Container: k.Container, Component: k.Component,
		ComponentPath: req.Component.Path, Type: req.Container.Type}
	before, hadBefore, _ := iv.Store.LatestGeneration(k)
	var restored *snapshotJSON
	if req.Activity == module.Restore {
		if sn, ok, err := req.RestoreTarget(); err == nil && ok {
			restored = &snapshotJSON{Snapshot: sn.Rel(), ID: sn.ID}
		}
	}
	runErr := m.Run(ctx, req)
	doc.OK = runErr == nil
	if runErr != nil {
		doc.Error = runErr.Error()
	}
	switch req.Activity {
	case module.Snapshot:
		if after, ok, err := iv.Store.LatestGeneration(k); err == nil && ok && runErr == nil {
			doc.Snapshot = &snapshotJSON{Snapshot: after.Snapshot.Rel(), ID: after.Snapshot.ID, Generation: after.N,
				NewGeneration: !hadBefore || after.N != before.N}
		}
	case module.Restore:
		if runErr == nil {
			doc.Snapshot = restored
		}
	}
	if err := writeJSON(app.Stdout, doc); err != nil && runErr == nil {
		return err
	}
	return runErr
}
