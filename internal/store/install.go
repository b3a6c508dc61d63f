package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// Incoming is a complete snapshot payload waiting in a work directory (see
// TempDir) to be installed into the store.
type Incoming struct {
	Snapshot
	Dir      string    // the payload directory (or file), inside a work directory of this store
	Checksum string    // "sha256:…" as the sender stated it; Install verifies it
	Metadata *Metadata // optional
}

// Status says what installing one snapshot did.
type Status int

const (
	// Installed: the snapshot was new and is now in the store.
	Installed Status = iota
	// Present: an identical snapshot was already there; nothing changed.
	Present
	// Replaced: the store held a damaged copy, now replaced by the
	// verified one.
	Replaced
)

func (st Status) String() string {
	switch st {
	case Installed:
		return "imported"
	case Present:
		return "skipped"
	case Replaced:
		return "repaired"
	}
	return fmt.Sprintf("Status(%d)", int(st))
}

// InstallResult reports what Install did.
type InstallResult struct {
	Snapshots   []InstalledSnapshot
	Generations []Generation // generations added, in order
}

// InstalledSnapshot is the outcome for one Incoming.
type InstalledSnapshot struct {
	Snapshot
	Checksum string
	Status   Status
}

// Install verifies every incoming payload against its checksum, and only if
// all of them match, installs them under one hold of the store lock. Then
// it appends gens, a generation history (oldest first; components may be
// interleaved), to each component's generations: the longest beginning of
// the history that the component's generations already end with is
// skipped, and so is a snapshot equal to the latest generation (upstream's
// generation step). Appending one snapshot is therefore exactly the
// generation step, and installing the same history twice adds nothing the
// second time. Snapshots in gens must be in the store or among in.
//
// A snapshot already in the store is left alone when its content is
// identical; a stored copy that fails its own checksum is replaced; a
// different, intact snapshot with the same id is an error. On an error
// nothing of in becomes visible unless it was installed before the error.
func (s *Store) Install(ctx context.Context, what string, in []Incoming, gens []Snapshot) (*InstallResult, error) {
	unlock, err := s.Lock(ctx, what)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.InstallLocked(ctx, in, gens)
}

// InstallLocked is Install for a caller that holds the store lock already:
// one that decided, under the lock, which snapshots the store has (as
// import does while it reads a stream), so that gc cannot remove them
// before their generations are added.
func (s *Store) InstallLocked(ctx context.Context, in []Incoming, gens []Snapshot) (*InstallResult, error) {
	incoming := map[Snapshot]bool{}
	for _, inc := range in {
		if err := inc.Validate(); err != nil {
			return nil, err
		}
		if incoming[inc.Snapshot] {
			return nil, fmt.Errorf("snapshot %s: given twice", inc.Rel())
		}
		incoming[inc.Snapshot] = true
		// Make the payload durable before it can become visible, and
		// check it against its checksum.
		if err := syncTree(inc.Dir); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", inc.Rel(), err)
		}
		if err := verifyIncoming(inc); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for _, g := range gens {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("generation of %s: %w", g.Rel(), err)
		}
	}
	for _, g := range gens {
		if incoming[g] {
			continue
		}
		if ok, err := exists(s.SnapshotDir(g)); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("add generation for %s: the snapshot is not in the store", g.Rel())
		}
	}
	res := &InstallResult{}
	for _, inc := range in {
		st, err := s.install(inc)
		if err != nil {
			return res, fmt.Errorf("install snapshot %s: %w", inc.Rel(), err)
		}
		res.Snapshots = append(res.Snapshots, InstalledSnapshot{Snapshot: inc.Snapshot, Checksum: inc.Checksum, Status: st})
	}
	var keys []Key
	histories := map[Key][]Snapshot{}
	for _, g := range gens {
		if _, ok := histories[g.Key]; !ok {
			keys = append(keys, g.Key)
		}
		histories[g.Key] = append(histories[g.Key], g)
	}
	for _, k := range keys {
		added, err := s.appendHistory(k, histories[k])
		res.Generations = append(res.Generations, added...)
		if err != nil {
			return res, fmt.Errorf("add generations for %s: %w", k, err)
		}
	}
	return res, nil
}

// Validate checks the incoming snapshot's name and checksum syntax.
func (inc Incoming) Validate() error {
	if err := inc.Key.Validate(); err != nil {
		return fmt.Errorf("snapshot %s: %w", inc.Rel(), err)
	}
	if err := ValidSegment(inc.ID); err != nil {
		return fmt.Errorf("snapshot %s: id: %w", inc.Rel(), err)
	}
	if err := ValidChecksum(inc.Checksum); err != nil {
		return fmt.Errorf("snapshot %s: %w", inc.Rel(), err)
	}
	if IsNARID(inc.ID) && inc.Checksum != "sha256:"+inc.ID {
		return &IntegrityError{Problems: []string{fmt.Sprintf("snapshot %s: its checksum %s is not its id", inc.Rel(), inc.Checksum)}}
	}
	return nil
}

func verifyIncoming(inc Incoming) error {
	got, err := checksumOf(inc.Dir, inc.Checksum)
	if err != nil {
		return fmt.Errorf("verify snapshot %s: %w", inc.Rel(), err)
	}
	if got != inc.Checksum {
		return &IntegrityError{Problems: []string{fmt.Sprintf("checksum mismatch for incoming snapshot %s: have %s, want %s", inc.Rel(), got, inc.Checksum)}}
	}
	return nil
}

// install makes a verified payload visible as its snapshot. The checksum and
// metadata are written before the payload is renamed into place, so every
// visible snapshot has them. The caller holds the lock.
func (s *Store) install(inc Incoming) (Status, error) {
	target := s.SnapshotDir(inc.Snapshot)
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeRecords(inc, true); err != nil {
			return 0, err
		}
		if err := s.mkdirAll(filepath.Dir(target)); err != nil {
			return 0, err
		}
		if err := os.Rename(inc.Dir, target); err != nil {
			return 0, err
		}
		return Installed, atomicfile.SyncDir(filepath.Dir(target))
	} else if err != nil {
		return 0, err
	}

	same, err := sameTree(inc.Dir, target)
	if err != nil {
		return 0, err
	}
	if same {
		return Present, s.writeRecords(inc, false)
	}
	if s.intact(inc.Snapshot) {
		return 0, fmt.Errorf("a different snapshot with this id is already in the store")
	}
	// The stored copy is damaged (or was never complete): swap in the
	// verified one. The damaged copy lands in the work directory, which
	// the caller removes.
	if err := s.writeRecords(inc, true); err != nil {
		return 0, err
	}
	if err := exchange(inc.Dir, target); err != nil {
		return 0, err
	}
	return Replaced, atomicfile.SyncDir(filepath.Dir(target))
}

// intact reports whether the stored snapshot sn verifies, against its
// checksum file or, for ids that are NAR hashes, against its id.
func (s *Store) intact(sn Snapshot) bool {
	want, ok, err := s.Checksum(sn)
	if err != nil {
		return false
	}
	if !ok {
		if !IsNARID(sn.ID) {
			// Upstream snapshot without a checksum: it cannot be told
			// damaged, so it is kept.
			return true
		}
		want = "sha256:" + sn.ID
	}
	got, err := checksumOf(s.SnapshotDir(sn), want)
	return err == nil && got == want
}

// writeRecords writes the checksum and metadata of inc. With overwrite
// false, existing records are kept and only missing ones are written.
func (s *Store) writeRecords(inc Incoming, overwrite bool) error {
	sumFile := s.checksumFile(inc.Snapshot)
	if have, err := exists(sumFile); err != nil {
		return err
	} else if overwrite || !have {
		if err := s.mkdirAll(filepath.Dir(sumFile)); err != nil {
			return err
		}
		if err := atomicfile.Write(sumFile, []byte(inc.Checksum), FileMode); err != nil {
			return err
		}
	}
	if inc.Metadata == nil {
		return nil
	}
	if have, err := exists(s.metadataFile(inc.Snapshot)); err != nil {
		return err
	} else if overwrite || !have {
		return s.writeMetadata(inc.Snapshot, inc.Metadata)
	}
	return nil
}

// appendHistory adds generations for the part of hist that the component's
// generations do not already end with. The caller holds the lock.
func (s *Store) appendHistory(k Key, hist []Snapshot) ([]Generation, error) {
	have, err := s.Generations(k)
	if err != nil {
		return nil, err
	}
	overlap := 0
	for n := min(len(have), len(hist)); n > 0; n-- {
		tail := have[len(have)-n:]
		match := true
		for i := range n {
			if tail[i].Snapshot != hist[i] {
				match = false
				break
			}
		}
		if match {
			overlap = n
			break
		}
	}
	var added []Generation
	for _, sn := range hist[overlap:] {
		n, ok, err := s.addGeneration(sn)
		if err != nil {
			return added, err
		}
		if ok {
			added = append(added, Generation{N: n, Snapshot: sn})
		}
	}
	return added, nil
}
