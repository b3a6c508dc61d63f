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
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	return iv.Run(ctx, c.spec(act))
}
