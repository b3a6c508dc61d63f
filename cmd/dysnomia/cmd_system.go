package main

import "errors"

// SystemCmd is the NixOS entry point: check, switch and pre-switch of a
// JSON system config. (Scaffolding: being implemented.)
type SystemCmd struct{}

// Run implements the command.
func (SystemCmd) Run() error { return errors.New("system: not implemented yet") }
