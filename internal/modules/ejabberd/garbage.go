package ejabberd

import (
	"context"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// collectGarbage deletes the node's data of every virtual host when the
// component is marked as garbage; an active component is left alone without
// contacting the node.
func collectGarbage(ctx context.Context, req *module.Request, s *settings) error {
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil {
		return err
	}
	if !garbage {
		req.Report.Infof("%s is not deactivated; keeping the node's data", req.Key())
		return nil
	}
	if err := s.waitReady(ctx, req); err != nil {
		return err
	}
	if err := s.deleteData(ctx, true); err != nil {
		return err
	}
	req.Report.Infof("deleted the ejabberd node's data of %s", req.Key())
	return req.Store.UnmarkGarbage(req.Key())
}
