package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Added reports what Add did with one path.
type Added struct {
	Snapshot
	Status        Status // Installed, Present (an identical snapshot was there) or Replaced (a damaged one was)
	InStore       bool   // the path was already this component's snapshot: only the generation step ran
	Generation    int    // the latest generation after Add
	NewGeneration bool   // a generation was added
}

// Add brings an existing snapshot directory into the store as a snapshot of
// k, as upstream's `dysnomia-snapshots --import` does, and runs the
// generation step for it. The snapshot's id is the path's base name.
//
//   - A path that is a snapshot of k in this store (snapshots/<c>/<comp>/<id>,
//     compared as directories, not as strings) only gets the generation
//     step: that is how an older state becomes the latest again. It must
//     verify.
//   - Any other path inside the state directory is refused.
//   - Otherwise the payload is copied (hard-linked where possible) into a
//     work directory, checksummed — an id that is a NAR hash must match it —
//     and installed. An identical snapshot already in the store counts as
//     success. The source path is removed afterwards, as upstream moves it.
func (s *Store) Add(ctx context.Context, k Key, path string) (Added, error) {
	if err := k.Validate(); err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return Added{}, fmt.Errorf("add %s: not a directory or a regular file", path)
	}
	sn := Snapshot{Key: k, ID: filepath.Base(abs)}
	if err := ValidSegment(sn.ID); err != nil {
		return Added{}, fmt.Errorf("add %s: snapshot id: %w", path, err)
	}
	if s.sameDir(filepath.Dir(abs), s.path("snapshots", k.Container, k.Component)) {
		return s.addInStore(ctx, sn)
	}
	if s.inside(abs) {
		return Added{}, fmt.Errorf("add %s: the path lies inside the state directory %s but is not a snapshot of %s", path, s.dir, k)
	}

	work, err := s.TempDir("add")
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	defer removeTemp(work)
	payload := filepath.Join(work, "payload")
	if err := copyTree(abs, payload); err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	if err := syncTree(payload); err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	sum, err := NARHash(payload)
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	if IsNARID(sn.ID) && sum != "sha256:"+sn.ID {
		return Added{}, &IntegrityError{Problems: []string{fmt.Sprintf("add %s: its content hashes to %s, not to its name", path, sum)}}
	}
	host, _ := os.Hostname()
	md := &Metadata{Container: k.Container, Component: k.Component, ID: sn.ID, Checksum: sum,
		Time: time.Now().UTC().Truncate(time.Second), Host: host, Version: s.Version}
	res, err := s.Install(ctx, "add "+sn.Rel(), []Incoming{{Snapshot: sn, Dir: payload, Checksum: sum, Metadata: md}}, []Snapshot{sn})
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", path, err)
	}
	out := Added{Snapshot: sn, Status: res.Snapshots[0].Status}
	if len(res.Generations) > 0 {
		out.Generation, out.NewGeneration = res.Generations[0].N, true
	} else if g, ok, err := s.LatestGeneration(k); err == nil && ok {
		out.Generation = g.N
	}
	if err := os.RemoveAll(abs); err != nil {
		s.Report.Warnf("%s is in the store now, but removing %s failed: %v", sn.Rel(), path, err)
	}
	return out, nil
}

func (s *Store) addInStore(ctx context.Context, sn Snapshot) (Added, error) {
	// Verified under the lock, so that gc cannot remove it before its
	// generation is added.
	unlock, err := s.Lock(ctx, "add "+sn.Rel())
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", sn.Rel(), err)
	}
	defer unlock()
	if err := s.Verify(sn); err != nil {
		return Added{}, err
	}
	n, added, err := s.addGeneration(sn)
	if err != nil {
		return Added{}, fmt.Errorf("add %s: %w", sn.Rel(), err)
	}
	return Added{Snapshot: sn, Status: Present, InStore: true, Generation: n, NewGeneration: added}, nil
}

// sameDir reports whether a and b are the same existing directory.
func (s *Store) sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// inside reports whether path lies inside the state directory, after
// resolving symlinks on both sides, with a path-boundary check (so
// /var/state/dysnomia-x is not inside /var/state/dysnomia).
func (s *Store) inside(path string) bool {
	abs, err := filepath.Abs(s.dir)
	if err != nil {
		return false
	}
	dir, err := filepath.EvalSymlinks(abs)
	if err != nil {
		dir = abs
	}
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		p = filepath.Clean(path)
	}
	for _, pair := range [][2]string{{dir, p}, {abs, filepath.Clean(path)}} {
		rel, err := filepath.Rel(pair[0], pair[1])
		if err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}
