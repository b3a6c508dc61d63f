package mysql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// collectGarbage drops the database of a deactivated component. A component
// that is not marked as garbage is left alone, without contacting the
// server.
func collectGarbage(ctx context.Context, req *module.Request, s settings) error {
	name := req.Component.Name
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil {
		return err
	}
	if !garbage {
		req.Report.Infof("%s is not deactivated; keeping database %q", req.Key(), name)
		return nil
	}
	conn, release, err := lockComponent(ctx, s, req, name)
	if err != nil {
		return err
	}
	defer release()
	if err := dropWorkDatabases(ctx, conn, name, req); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	req.Report.Infof("dropped database %q on %s", name, req.Container.Name)
	return req.Store.UnmarkGarbage(req.Key())
}
