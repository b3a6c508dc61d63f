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
	return s.gc(ctx, sel, keep, false)
}

// GCDryRun reports what GC would remove, removing nothing. It reads
// without the lock, so a writer running meanwhile can change the answer.
func (s *Store) GCDryRun(ctx context.Context, sel Selection, keep int) (*GCResult, error) {
	return s.gc(ctx, sel, keep, true)
}

func (s *Store) gc(ctx context.Context, sel Selection, keep int, dry bool) (*GCResult, error) {
	if keep < 0 {
		return nil, fmt.Errorf("gc: keep %d: want a non-negative number of generations", keep)
	}
	if !dry {
		unlock, err := s.Lock(ctx, "gc")
		if err != nil {
			return nil, fmt.Errorf("gc: %w", err)
		}
		defer unlock()
	}
	g := &gcRun{s: s, dry: dry}
	res := &GCResult{}
	stale, err := s.StaleTemp()
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	for _, dir := range stale {
		rel := s.rel(dir)
		g.say("abandoned work directory %s", rel)
		if !dry {
			if err := removeTemp(dir); err != nil {
				return res, fmt.Errorf("gc: %w", err)
			}
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
		if trash == "" && !dry {
			if trash, err = s.TempDir("gc"); err != nil {
				return res, fmt.Errorf("gc: %w", err)
			}
		}
		if err := g.key(k, keep, trash, res); err != nil {
			return res, fmt.Errorf("gc %s: %w", k, err)
		}
	}
	if dry {
		return res, nil
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

// gcRun is one GC or dry run: what it does to the file system goes through
// it, so that a dry run does nothing but tell.
type gcRun struct {
	s   *Store
	dry bool
}

// say reports one removal: "removing …", or "would remove …" in a dry run.
func (g *gcRun) say(format string, args ...any) {
	verb := "removing "
	if g.dry {
		verb = "would remove "
	}
	g.s.Report.Infof(verb+format, args...)
}

func (g *gcRun) remove(p string) error {
	if g.dry {
		return nil
	}
	return os.Remove(p)
}

func (g *gcRun) key(k Key, keep int, trash string, res *GCResult) error {
	s := g.s
	gp := s.path("generations", k.Container, k.Component)
	sp := s.path("snapshots", k.Container, k.Component)
	cp := s.path("checksums", k.Container, k.Component)
	mp := s.path("metadata", k.Container, k.Component)

	if err := g.removeStrays(gp, res); err != nil {
		return err
	}
	gens, err := s.Generations(k)
	if err != nil {
		return err
	}
	if len(gens) > keep {
		for _, gen := range gens[:len(gens)-keep] {
			g.say("old generation %s/%d (snapshot %s)", k, gen.N, gen.Snapshot.ID)
			if err := g.remove(filepath.Join(gp, strconv.Itoa(gen.N))); err != nil {
				return err
			}
			res.Generations = append(res.Generations, gen)
		}
		if !g.dry {
			if err := atomicfile.SyncDir(gp); err != nil {
				return err
			}
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
		g.say("old snapshot %s", sn.Rel())
		res.Snapshots = append(res.Snapshots, sn)
		if g.dry {
			continue
		}
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
	}
	if removed {
		if err := atomicfile.SyncDir(sp); err != nil {
			return err
		}
	}

	// Records whose snapshot is gone, and half-written records.
	gone := map[string]bool{}
	for _, sn := range res.Snapshots {
		if sn.Key == k {
			gone[sn.ID] = true
		}
	}
	for _, dir := range []string{cp, mp} {
		if err := g.removeStrays(dir, res); err != nil {
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
			if referenced[id] || gone[id] { // a removed snapshot's records went with it
				continue
			}
			if ok, err := exists(filepath.Join(sp, id)); err != nil || ok {
				continue
			}
			p := filepath.Join(dir, name)
			g.say("record of a missing snapshot %s", s.rel(p))
			if err := g.remove(p); err != nil {
				return err
			}
			res.Strays = append(res.Strays, s.rel(p))
		}
	}
	if !g.dry {
		for _, dir := range []string{gp, sp, cp, mp} {
			os.Remove(dir) // only if empty
		}
	}
	return nil
}

// removeStrays removes ".tmp-*" entries of dir: temporary files and links of
// writers that died before renaming them into place. The caller holds the
// lock, so no live writer owns one.
func (g *gcRun) removeStrays(dir string, res *GCResult) error {
	names, err := readDirNames(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, atomicfile.TempPrefix) {
			continue
		}
		p := filepath.Join(dir, name)
		g.say("leftover of an interrupted write %s", g.s.rel(p))
		if err := g.remove(p); err != nil {
			return err
		}
		res.Strays = append(res.Strays, g.s.rel(p))
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
