package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Committed reports the outcome of a Commit.
type Committed struct {
	Snapshot
	Checksum      string
	Generation    int    // the latest generation after the commit
	NewGeneration bool   // false when the latest generation already held this content
	Existed       bool   // the payload was already in the store (de-duplicated)
	Status        Status // Installed, Present (de-duplicated) or Replaced (a damaged copy was repaired)
}

// Summary describes the outcome in the one wording every module reports:
//
//	snapshot <c>/<comp>/<id>: generation N
//	snapshot <c>/<comp>/<id>: unchanged, still generation N
//	snapshot <c>/<comp>/<id>: repaired (a damaged copy was replaced), generation N
//	snapshot <c>/<comp>/<id>: repaired (a damaged copy was replaced), still generation N
func (c Committed) Summary() string {
	switch {
	case c.Status == Replaced && c.NewGeneration:
		return fmt.Sprintf("snapshot %s: repaired (a damaged copy was replaced), generation %d", c.Rel(), c.Generation)
	case c.Status == Replaced:
		return fmt.Sprintf("snapshot %s: repaired (a damaged copy was replaced), still generation %d", c.Rel(), c.Generation)
	case c.NewGeneration:
		return fmt.Sprintf("snapshot %s: generation %d", c.Rel(), c.Generation)
	}
	return fmt.Sprintf("snapshot %s: unchanged, still generation %d", c.Rel(), c.Generation)
}

// Commit takes a snapshot of k: fill streams the dump into a Dump, which
// compresses it into a work directory inside the store; the store derives
// the snapshot's id from the content, makes it visible atomically (fsync,
// rename, fsync of the parent) and adds a generation when the latest one
// points elsewhere. If fill fails, or the process dies at any point, no
// partial snapshot becomes visible.
//
// The id is the NAR hash of the payload directory in nixbase32, so the id is
// the checksum: the same data gives the same id on any machine running the
// same version of the compressor, and committing unchanged state adds
// nothing. A stored copy with the same id that no longer matches its
// checksum is replaced by the fresh one.
//
// The dump runs without the store lock; only the final installation takes
// it, so a slow dump never blocks other writers.
func (s *Store) Commit(ctx context.Context, k Key, meta Meta, fill func(*Dump) error) (Committed, error) {
	if err := k.Validate(); err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	work, err := s.TempDir("commit")
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	defer removeTemp(work)

	payload := filepath.Join(work, "payload")
	if err := mkdirPrivate(payload); err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	d := &Dump{dir: payload, report: s.Report, label: "snapshot " + k.String()}
	ferr := fill(d)
	files, cerr := d.close()
	if err := errors.Join(ferr, cerr); err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	if len(files) == 0 {
		return Committed{}, fmt.Errorf("snapshot %s: the module wrote no dump", k)
	}
	if err := ctx.Err(); err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	if err := syncDirs(payload); err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	sum, err := d.checksum()
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	sn := Snapshot{Key: k, ID: strings.TrimPrefix(sum, "sha256:")}
	host, _ := os.Hostname()
	md := &Metadata{
		Container: k.Container, Component: k.Component, ID: sn.ID, Checksum: sum,
		Module: meta.Module, Time: time.Now().UTC().Truncate(time.Second), Host: host,
		Version: s.Version, Files: files,
	}

	unlock, err := s.Lock(ctx, "snapshot "+k.String())
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	defer unlock()
	st, err := s.install(Incoming{Snapshot: sn, Dir: payload, Checksum: sum, Metadata: md})
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	gen, added, err := s.addGeneration(sn)
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	return Committed{Snapshot: sn, Checksum: sum, Generation: gen, NewGeneration: added, Existed: st != Installed, Status: st}, nil
}
