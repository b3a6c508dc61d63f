package webapp

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/fileset"
)

// filesetRequest is req as the fileset module takes it: the same
// component, store and streams, in this container (so its markers and
// snapshots are this container's), with targetDir set to the document root.
func filesetRequest(req *module.Request, root string) *module.Request {
	sub := *req
	props := append(config.Properties(nil), req.Container.Properties...)
	props.Set(config.Property{Key: "targetDir", Values: []string{root}})
	sub.Container = module.Container{Name: req.Container.Name, Arg: req.Container.Arg, Type: "fileset", Properties: props}
	return &sub
}

// runFileset runs the activity with the fileset module, in this process.
func runFileset(ctx context.Context, req *module.Request, root string) error {
	return fileset.Module{}.Run(ctx, filesetRequest(req, root))
}

func filesetShellEnv(req *module.Request, root string) ([]string, error) {
	return fileset.Module{}.ShellEnv(filesetRequest(req, root))
}
