package mysql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// lock refuses while another dysnomia process changes the database: a
// restore, an activation or a garbage collection holds the component's
// named lock on the server. A server that does not answer at once cannot be
// running any of them, so lock then succeeds: an upgrade must not be
// refused because the database server is down.
func lock(ctx context.Context, req *module.Request, s settings) error {
	db, err := connect(ctx, s, req.Report, false)
	if err != nil {
		req.Report.Infof("server not reachable (%v); nothing can be restoring %q", err, req.Component.Name)
		return nil
	}
	defer db.Close()
	id, err := lockHolder(ctx, db, req.Component.Name)
	if err != nil {
		return fmt.Errorf("check named lock %s: %w", lockName(req.Component.Name), err)
	}
	if id != 0 {
		return fmt.Errorf("refusing to lock: a restore, activation or garbage collection of the database is running (server connection %d holds named lock %s)", id, lockName(req.Component.Name))
	}
	return nil
}
