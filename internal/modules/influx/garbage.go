package influx

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// collectGarbage drops the database of a component marked as garbage; an
// active component is left alone without contacting the server.
func collectGarbage(ctx context.Context, req *module.Request, s *settings) error {
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil {
		return err
	}
	if !garbage {
		req.Report.Infof("%s is not deactivated; keeping database %q", req.Key(), req.Component.Name)
		return nil
	}
	c := newClient(s)
	defer c.close()
	if err := c.waitReady(ctx, s.timeout, waitNotice(req, s)); err != nil {
		return err
	}
	if err := c.exec(ctx, "DROP DATABASE "+quoteIdent(req.Component.Name)); err != nil {
		return err
	}
	req.Report.Infof("dropped database %q on %s", req.Component.Name, req.Container.Name)
	return req.Store.UnmarkGarbage(req.Key())
}
