package subversion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// The payload files of a snapshot: ours are stored with .zst, upstream's
// dump as dump.xz (logical name "dump").
const (
	DumpFile     = "dump.svndump"
	YoungestFile = "youngest"
	upstreamDump = "dump"
)

// snapshot dumps every revision of the repository into the snapshot store.
func snapshot(ctx context.Context, req *module.Request, s *settings) error {
	exists, err := isRepo(s.repo)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("no repository %s (activate the component first)", s.repo)
	}
	release, err := lockRepo(ctx, req, s, false)
	if err != nil {
		return err
	}
	defer release()
	head, err := s.youngest(ctx, s.repo)
	if err != nil {
		return err
	}
	res, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: Type}, func(d *store.Dump) error {
		w, err := d.CreateFast(DumpFile)
		if err != nil {
			return err
		}
		derr := s.svnadmin(ctx, nil, w, "dump", "--quiet", "--revision", "0:"+strconv.Itoa(head), "--", s.repo)
		if err := errors.Join(derr, w.Close()); err != nil {
			return err
		}
		y, err := d.Create(YoungestFile)
		if err != nil {
			return err
		}
		_, werr := io.WriteString(y, strconv.Itoa(head)+"\n")
		return errors.Join(werr, y.Close())
	})
	if err != nil {
		return err
	}
	if res.NewGeneration {
		req.Report.Infof("snapshot %s (revision %d) is generation %d", res.Rel(), head, res.Generation)
	} else {
		req.Report.Infof("repository unchanged since generation %d (snapshot %s)", res.Generation, res.Rel())
	}
	return nil
}
