package postgresql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// lock refuses while a restore of the database is in progress, so that
// Disnix does not upgrade a service whose state is being replaced. It holds
// nothing afterwards: PostgreSQL's transactions keep a database consistent
// without quiescing it, and snapshots are consistent while it is used.
//
// Disnix calls lock without the container properties, so the server is often
// only reachable at the defaults; when it cannot be reached at all (one
// attempt, no waiting), lock warns and succeeds, as there is no restore it
// could see.
func (m Module) lock(ctx context.Context, req *module.Request, ss *session) error {
	name := req.Component.Name
	conn, err := ss.connect(ctx, maintenanceDB(name))
	if err != nil {
		req.Report.Warnf("lock %s: cannot check for a running restore: %v", name, err)
		return nil
	}
	defer conn.Close(context.Background())
	ok, err := lockRestore(ctx, conn, name, true)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("lock %s: a restore of database %q is in progress", name, name)
	}
	defer unlockRestore(ctx, conn, name, true)
	return nil
}
