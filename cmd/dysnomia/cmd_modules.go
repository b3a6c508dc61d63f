package main

import (
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/modules"
)

// ModulesCmd lists the built-in module types.
type ModulesCmd struct{}

// Run implements the command.
func (ModulesCmd) Run(app *App) error {
	for _, t := range modules.Registry().Types() {
		if _, err := fmt.Fprintln(app.Stdout, t); err != nil {
			return err
		}
	}
	return nil
}
