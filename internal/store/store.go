package store

import (
	"path/filepath"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Store is a state directory. The zero value is not usable; call Open.
type Store struct {
	dir string

	// Report receives progress and warnings. Never nil after Open.
	Report ui.Reporter
	// LockTimeout bounds how long a writer waits for the store lock held by
	// another process. Zero means fail at once.
	LockTimeout time.Duration
	// Version is recorded in snapshot metadata.
	Version string
}

// Open returns the store rooted at dir. It does no I/O: directories are
// created when something is first written.
func Open(dir string) *Store {
	return &Store{dir: dir, Report: ui.Discard, LockTimeout: 5 * time.Minute}
}

// Create makes the state directory, private (DirMode), when it is
// missing; the directories above it that are missing are made 0755.
func (s *Store) Create() error { return s.mkdirAll(s.dir) }

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

// SnapshotDir is where a snapshot's payload lives.
func (s *Store) SnapshotDir(sn Snapshot) string {
	return s.path("snapshots", sn.Container, sn.Component, sn.ID)
}
