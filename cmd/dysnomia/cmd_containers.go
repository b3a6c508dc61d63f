package main

import "errors"

// ContainersCmd operates on every configured container and component.
// (Scaffolding: being implemented.)
type ContainersCmd struct{}

// Run implements the command.
func (ContainersCmd) Run() error { return errors.New("containers: not implemented yet") }
