package main

import (
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/modules"
)

// ModulesCmd lists the built-in module types.
type ModulesCmd struct {
	JSON bool `name:"json" help:"Print JSON (docs/json.md): {version, modules}."`
}

// Run implements the command.
func (c ModulesCmd) Run(app *App) error {
	types := modules.Registry().Types()
	if c.JSON {
		return writeJSON(app.Stdout, modulesJSON{Version: jsonVersion, Modules: types})
	}
	for _, t := range types {
		if _, err := fmt.Fprintln(app.Stdout, t); err != nil {
			return err
		}
	}
	return nil
}
