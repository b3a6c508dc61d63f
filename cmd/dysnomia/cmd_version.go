package main

import "fmt"

// VersionCmd prints the version in upstream's format.
type VersionCmd struct{}

// Run implements the command.
func (VersionCmd) Run(app *App) error {
	prog := app.Prog
	if prog == "" {
		prog = "dysnomia"
	}
	_, err := fmt.Fprintf(app.Stdout, "%s (dysnomia %s)\n\nDysnomia in Go: deployment of mutable components.\n", prog, version)
	return err
}
