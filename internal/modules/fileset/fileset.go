// Package postgresql is the fileset module.
package fileset

import (
	"context"
	"errors"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module implements module.Module. (Scaffolding: being implemented.)
type Module struct{}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	return errors.New("fileset: not implemented yet")
}
