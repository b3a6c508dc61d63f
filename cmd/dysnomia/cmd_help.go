package main

import (
	"github.com/alecthomas/kong"
)

// HelpCmd prints the help of the program or of a command: `dysnomia help`,
// `dysnomia help snapshots gc`.
type HelpCmd struct {
	Command []string `arg:"" optional:"" placeholder:"COMMAND" help:"The command to describe, e.g. snapshots gc."`
}

// Run implements the command: it asks kong for the help of the command
// path, which prints it and exits 0 (an unknown command is an error that
// names it).
func (c *HelpCmd) Run(kctx *kong.Context) error {
	_, err := kctx.Kong.Parse(append(append([]string{}, c.Command...), "--help"))
	return err
}
