package main

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/remote"
)

// MoveCmd moves a component's state to another machine in one cut-over.
type MoveCmd struct {
	Component  string `short:"c" required:"" placeholder:"NAME|PATH" help:"The component: a path, or a name looked up in DYSNOMIA_COMPONENTS_PATH/<container>/. On the target it is looked up by name."`
	Container  string `short:"C" required:"" placeholder:"NAME|PATH" help:"The container: a container file path, or a name looked up in DYSNOMIA_CONTAINERS_PATH. On the target it is looked up by name."`
	To         string `required:"" placeholder:"HOST" help:"The ssh destination to move the state to."`
	Deactivate bool   `help:"Deactivate the component here once the target has its state (its data stays until collect-garbage)."`
	RemoteFlags
	JSON bool `name:"json" help:"Print a JSON summary: {version, container, component, to, snapshot, sent, bytes, seconds, deactivated, steps: [{step, seconds}]}."`
}

// Run implements the command.
func (c *MoveCmd) Run(ctx context.Context, app *App) error {
	client, err := c.client(app, c.To)
	if err != nil {
		return err
	}
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	spec := func(act module.Activity) module.Spec {
		return module.Spec{Activity: act, Component: c.Component, Container: c.Container}
	}
	req, _, err := iv.Prepare(spec(module.Lock))
	if err != nil {
		return fmt.Errorf("move: %w", err)
	}
	mv := &remote.Move{
		Key:        req.Key(),
		Client:     client,
		Store:      iv.Store,
		Local:      func(ctx context.Context, act module.Activity) error { return iv.Run(ctx, spec(act)) },
		Deactivate: c.Deactivate,
		Report:     app.Report,
	}
	sum, err := mv.Run(ctx)
	if c.JSON && sum != nil {
		if jerr := writeJSON(app.Stdout, sum); jerr != nil && err == nil {
			err = jerr
		}
	}
	if err == nil {
		app.Report.Infof("moved %s to %s: restored %s there in %.1f s", mv.Key, c.To, sum.Snapshot, sum.Seconds)
	}
	return err
}
