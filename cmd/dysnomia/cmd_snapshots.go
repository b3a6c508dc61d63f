package main

import "errors"

// SnapshotsCmd manages the snapshot store. (Scaffolding: being implemented.)
type SnapshotsCmd struct{}

// Run implements the command.
func (SnapshotsCmd) Run() error { return errors.New("snapshots: not implemented yet") }
