package ejabberd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// DumpFile is the payload file: ours is stored as dump.zst, upstream's as
// dump.
const DumpFile = "dump"

// snapshot has the node dump its Mnesia database and stores the canonical
// form.
func snapshot(ctx context.Context, req *module.Request, s *settings) error {
	if err := s.waitReady(ctx, req); err != nil {
		return err
	}
	dir, err := s.workDir(req)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	raw := filepath.Join(dir, "dump")
	if _, err := s.run(ctx, "dump", raw); err != nil {
		return err
	}
	d, err := readDumpFile(raw)
	if err != nil {
		return fmt.Errorf("read the node's dump: %w", err)
	}
	os.Remove(raw)
	res, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: Type}, func(dd *store.Dump) error {
		w, err := dd.Create(DumpFile)
		if err != nil {
			return err
		}
		return errors.Join(d.write(w), w.Close())
	})
	if err != nil {
		return err
	}
	if res.NewGeneration {
		req.Report.Infof("snapshot %s (%d records) is generation %d", res.Rel(), len(d.records), res.Generation)
	} else {
		req.Report.Infof("database unchanged since generation %d (snapshot %s)", res.Generation, res.Rel())
	}
	return nil
}
