// Package echo is the echo module: it prints each activity it is asked to
// carry out and keeps no state. It is useful for testing deployments.
package echo

import (
	"context"
	"fmt"
	"sort"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module implements module.Module.
type Module struct{}

var verbs = map[module.Activity]string{
	module.Activate:       "Activate",
	module.Deactivate:     "Deactivate",
	module.Lock:           "Lock",
	module.Unlock:         "Unlock",
	module.Snapshot:       "Snapshot state of",
	module.Restore:        "Restore state of",
	module.CollectGarbage: "Collect garbage of",
}

// Run prints "Echo module: <Verb> service: <component>" and the container
// properties, sorted. The shell activity prints a note to stderr.
func (Module) Run(_ context.Context, req *module.Request) error {
	if req.Activity == module.Shell {
		_, err := fmt.Fprintln(req.Stderr, "Echo module: this module has no shell support; the container properties are in the environment.")
		return err
	}
	fmt.Fprintf(req.Stdout, "Echo module: %s service: %s\n", verbs[req.Activity], req.Component.Path)
	fmt.Fprintln(req.Stdout, "Environment variables:")
	props := req.Container.Properties.Env()
	sort.Strings(props)
	for _, kv := range props {
		if _, err := fmt.Fprintln(req.Stdout, kv); err != nil {
			return err
		}
	}
	return nil
}
