package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Generation is one numbered entry of generations/<c>/<comp>.
type Generation struct {
	N        int
	Snapshot Snapshot
}

// Generations lists a component's generations in numeric order. Entries that
// are not numbered symlinks are ignored; a missing directory is no
// generations.
func (s *Store) Generations(k Key) ([]Generation, error) {
	dir := s.path("generations", k.Container, k.Component)
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	var gens []Generation
	for _, name := range names {
		n, err := strconv.Atoi(name)
		if err != nil || n <= 0 || strconv.Itoa(n) != name {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		gens = append(gens, Generation{N: n, Snapshot: Snapshot{Key: k, ID: filepath.Base(target)}})
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i].N < gens[j].N })
	return gens, nil
}

// Latest returns the snapshot of the highest generation, and false when the
// component has none.
func (s *Store) Latest(k Key) (Snapshot, bool, error) {
	gens, err := s.Generations(k)
	if err != nil || len(gens) == 0 {
		return Snapshot{}, false, err
	}
	return gens[len(gens)-1].Snapshot, true, nil
}

// addGeneration links a new generation to sn unless the latest generation
// already points to it. The link is created under a temporary name and
// renamed into place, so a reader never sees a half-made generation. The
// caller holds the lock.
func (s *Store) addGeneration(sn Snapshot) (n int, added bool, err error) {
	gens, err := s.Generations(sn.Key)
	if err != nil {
		return 0, false, err
	}
	last := 0
	if len(gens) > 0 {
		g := gens[len(gens)-1]
		if g.Snapshot.ID == sn.ID {
			return g.N, false, nil
		}
		last = g.N
	}
	dir := s.path("generations", sn.Container, sn.Component)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, false, err
	}
	n = last + 1
	target := filepath.Join("..", "..", "..", "snapshots", sn.Container, sn.Component, sn.ID)
	tmp := filepath.Join(dir, fmt.Sprintf(".tmp-%d-%d", n, os.Getpid()))
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return 0, false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, strconv.Itoa(n))); err != nil {
		os.Remove(tmp)
		return 0, false, err
	}
	return n, true, syncDir(dir)
}
