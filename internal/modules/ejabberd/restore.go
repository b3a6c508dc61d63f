package ejabberd

import (
	"context"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// restore puts a snapshot back: read through and checked first; then the
// node's data of every virtual host is deleted and the snapshot loaded.
func restore(ctx context.Context, req *module.Request, s *settings) error {
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("no snapshot of %s; nothing to restore", req.Key())
		return nil
	}
	payload, err := req.Store.Read(ctx, sn) // verifies the checksum
	if err != nil {
		return err
	}
	if !payload.Has(DumpFile) {
		return fmt.Errorf("snapshot %s is not an %s snapshot (it holds: %s)", sn.Rel(), Type, strings.Join(payload.Files(), ", "))
	}
	r, err := payload.Open(DumpFile)
	if err != nil {
		return err
	}
	d, err := parseDump(r)
	r.Close()
	if err != nil {
		return fmt.Errorf("snapshot %s: %w (the node was not changed)", sn.Rel(), err)
	}
	if !d.marked {
		req.Report.Warnf("snapshot %s is upstream's (no end marker); loading it as it is", sn.Rel())
	}
	if err := s.waitReady(ctx, req); err != nil {
		return err
	}
	deleted := false
	err = s.load(ctx, req, d, func() error {
		deleted = true
		if err := s.deleteData(ctx, false); err != nil {
			return fmt.Errorf("delete the node's data before the load: %w", err)
		}
		return nil
	})
	switch {
	case err != nil && deleted:
		return fmt.Errorf("%w; the node's data is incomplete: restore again", err)
	case err != nil:
		return fmt.Errorf("%w (the node was not changed)", err)
	}
	req.Report.Infof("restored %d records from snapshot %s", len(d.records), sn.Rel())
	return nil
}
