package postgresql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// deactivate marks the component as garbage; its database stays until
// collect-garbage. It needs no server.
func (m Module) deactivate(req *module.Request) error {
	return req.Store.MarkGarbage(req.Key())
}

// collectGarbage drops the database of a deactivated component, ending its
// sessions first, and removes the garbage mark. An active component is left
// alone.
func (m Module) collectGarbage(ctx context.Context, req *module.Request, ss *session) error {
	name := req.Component.Name
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil {
		return fmt.Errorf("collect garbage of %s: %w", name, err)
	}
	if !garbage {
		req.Report.Infof("%s is not deactivated; keeping database %q", req.Key(), name)
		return nil
	}
	conn, err := ss.wait(ctx, req.Report, maintenanceDB(name))
	if err != nil {
		return fmt.Errorf("collect garbage of %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	ok, err := lockRestore(ctx, conn, name, false)
	if err != nil {
		return fmt.Errorf("collect garbage of %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("collect garbage of %s: a restore or a snapshot of database %q is in progress", name, name)
	}
	defer unlockRestore(ctx, conn, name, false)
	if err := recoverSwap(ctx, req, conn, name); err != nil {
		return fmt.Errorf("collect garbage of %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "alter database "+ident(name)+" with allow_connections false"); err != nil && !undefinedDB(err) {
		return fmt.Errorf("collect garbage of %s: %w", name, err)
	}
	if err := dropDatabase(ctx, conn, name); err != nil {
		conn.Exec(context.Background(), "alter database "+ident(name)+" with allow_connections true")
		return fmt.Errorf("collect garbage of %s: drop database %q: %w", name, name, err)
	}
	req.Report.Infof("dropped database %q", name)
	return req.Store.UnmarkGarbage(req.Key())
}
