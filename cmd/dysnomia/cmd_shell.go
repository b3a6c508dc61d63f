package main

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ShellCmd starts a shell session for a component.
type ShellCmd struct {
	Target
	Command string `placeholder:"CMDS" help:"Run these shell commands in the session instead of an interactive shell, then exit with their status."`
}

// Run implements the command.
func (c *ShellCmd) Run(ctx context.Context, app *App) error {
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	spec := c.spec(module.Shell)
	spec.Command = c.Command
	return iv.Run(ctx, spec)
}
