package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// GCResult reports what GC removed.
type GCResult struct {
	Generations []Generation // generation links removed, per component oldest first
	Snapshots   []Snapshot   // snapshots removed
	Strays      []string     // leftovers of interrupted writes removed (paths relative to the state directory)
}

// GC removes, for each selected component, every generation but the keep
// most recent ones, then every snapshot that no remaining generation points
// to — including snapshots that no generation ever pointed to — with their
// checksums and metadata. It also removes what interrupted writers left
// behind: work directories of dead processes under tmp/ (whatever the
// selection), half-written generation links and records, and checksums or
// metadata of snapshots that are gone. Directories left empty are removed.
//
// Each snapshot disappears atomically (it is renamed into a work directory
// before being deleted), so a gc killed at any point leaves every visible
// snapshot whole. GC holds the store lock.
func (s *Store) GC(ctx context.Context, sel Selection, keep int) (*GCResult, error) {
	if keep < 0 {
		return nil, fmt.Errorf("gc: keep %d: want a non-negative number of generations", keep)
	}
	unlock, err := s.Lock(ctx, "gc")
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	defer unlock()
	res := &GCResult{}
	stale, err := s.StaleTemp()
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	for _, dir := range stale {
		rel := s.rel(dir)
		s.Report.Infof("Removing abandoned work directory: %s", rel)
		if err := removeTemp(dir); err != nil {
			return res, fmt.Errorf("gc: %w", err)
		}
		res.Strays = append(res.Strays, rel)
	}
	keys, err := s.Keys(sel)
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	var trash string
	defer func() {
		if trash != "" {
			removeTemp(trash)
		}
	}()
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if trash == "" {
			if trash, err = s.TempDir("gc"); err != nil {
				return res, fmt.Errorf("gc: %w", err)
			}
		}
		if err := s.gcKey(k, keep, trash, res); err != nil {
			return res, fmt.Errorf("gc %s: %w", k, err)
		}
	}
	for _, kind := range []string{"generations", "snapshots", "checksums", "metadata"} {
		containers, _ := readDirNames(s.path(kind))
		for _, c := range containers {
			if sel.Container == "" || sel.Container == c {
				os.Remove(s.path(kind, c))
			}
		}
	}
	return res, nil
}

func (s *Store) gcKey(k Key, keep int, trash string, res *GCResult) error {
	gp := s.path("generations", k.Container, k.Component)
	sp := s.path("snapshots", k.Container, k.Component)
	cp := s.path("checksums", k.Container, k.Component)
	mp := s.path("metadata", k.Container, k.Component)

	if err := s.removeStrays(gp, res); err != nil {
		return err
	}
	gens, err := s.Generations(k)
	if err != nil {
		return err
	}
	if len(gens) > keep {
		for _, g := range gens[:len(gens)-keep] {
			s.Report.Infof("Removing old generation symlink: %s/%d", k, g.N)
			if err := os.Remove(filepath.Join(gp, strconv.Itoa(g.N))); err != nil {
				return err
			}
			res.Generations = append(res.Generations, g)
		}
		if err := atomicfile.SyncDir(gp); err != nil {
			return err
		}
		gens = gens[len(gens)-keep:]
	}
	referenced := map[string]bool{}
	for _, g := range gens {
		referenced[g.Snapshot.ID] = true
	}

	ids, err := readDirNames(sp)
	if err != nil {
		return err
	}
	removed := false
	for _, id := range ids {
		if referenced[id] {
			continue
		}
		sn := Snapshot{Key: k, ID: id}
		s.Report.Infof("Removing old snapshot: %s", sn.Rel())
		// Out of sight first, in one step; then its records.
		if err := os.Rename(filepath.Join(sp, id), filepath.Join(trash, strconv.Itoa(len(res.Snapshots))+"-"+id)); err != nil {
			return err
		}
		removed = true
		if err := removeIfExists(s.checksumFile(sn)); err != nil {
			return err
		}
		if err := removeIfExists(s.metadataFile(sn)); err != nil {
			return err
		}
		res.Snapshots = append(res.Snapshots, sn)
	}
	if removed {
		if err := atomicfile.SyncDir(sp); err != nil {
			return err
		}
	}

	// Records whose snapshot is gone, and half-written records.
	for _, dir := range []string{cp, mp} {
		if err := s.removeStrays(dir, res); err != nil {
			return err
		}
		names, err := readDirNames(dir)
		if err != nil {
			return err
		}
		for _, name := range names {
			id := name
			if dir == mp {
				id = strings.TrimSuffix(name, ".json")
			}
			if referenced[id] {
				continue
			}
			if ok, err := exists(filepath.Join(sp, id)); err != nil || ok {
				continue
			}
			p := filepath.Join(dir, name)
			if err := os.Remove(p); err != nil {
				return err
			}
			res.Strays = append(res.Strays, s.rel(p))
		}
	}
	for _, dir := range []string{gp, sp, cp, mp} {
		os.Remove(dir) // only if empty
	}
	return nil
}

// removeStrays removes ".tmp-*" entries of dir: temporary files and links of
// writers that died before renaming them into place. The caller holds the
// lock, so no live writer owns one.
func (s *Store) removeStrays(dir string, res *GCResult) error {
	names, err := readDirNames(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, atomicfile.TempPrefix) {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil {
			return err
		}
		res.Strays = append(res.Strays, s.rel(p))
	}
	return nil
}

// rel is p relative to the state directory, for messages.
func (s *Store) rel(p string) string {
	if r, err := filepath.Rel(s.dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}
