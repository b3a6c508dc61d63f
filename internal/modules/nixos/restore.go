package nixos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func restore(ctx context.Context, req *module.Request, s *settings) error {
	sn, ok, err := req.RestoreTarget()
	if err != nil || !ok {
		return err
	}
	if err := req.Store.Verify(sn); err != nil {
		return err
	}
	outer := req.Store.SnapshotDir(sn)
	inners, err := innerSnapshots(outer)
	if err != nil {
		return err
	}
	for _, in := range inners {
		path := filepath.Join(s.Inner, "snapshots", in.Rel())
		if _, err := os.Stat(path); os.IsNotExist(err) {
			// Not in the inner store: hand it a copy from outside, which
			// it takes in (and moves away).
			work, err := os.MkdirTemp("", "dysnomia-nixos-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			path = filepath.Join(work, in.ID)
			if err := copyTree(ctx, req, filepath.Join(outer, in.Rel()), path, s.Hardlink); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := s.inner(ctx, req, "snapshots", "add", "--container="+in.Container, "--component="+in.Component, "--", path); err != nil {
			return err
		}
	}
	return s.inner(ctx, req, "containers", "restore", "--yes")
}

// innerSnapshots lists the <container>/<component>/<id> directories of an
// outer snapshot.
func innerSnapshots(dir string) ([]store.Snapshot, error) {
	var out []store.Snapshot
	containers, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		comps, err := os.ReadDir(filepath.Join(dir, c.Name()))
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", dir, err)
		}
		for _, comp := range comps {
			ids, err := os.ReadDir(filepath.Join(dir, c.Name(), comp.Name()))
			if err != nil {
				return nil, fmt.Errorf("snapshot %s: %w", dir, err)
			}
			for _, id := range ids {
				sn := store.Snapshot{Key: store.Key{Container: c.Name(), Component: comp.Name()}, ID: id.Name()}
				if err := sn.Key.Validate(); err != nil {
					return nil, fmt.Errorf("snapshot %s: %w", dir, err)
				}
				if err := store.ValidSegment(sn.ID); err != nil {
					return nil, fmt.Errorf("snapshot %s: %w", dir, err)
				}
				out = append(out, sn)
			}
		}
	}
	return out, nil
}
