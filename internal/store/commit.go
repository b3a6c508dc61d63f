package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Meta is what a module tells the store about a snapshot it commits.
type Meta struct {
	Module string // the module type, e.g. "postgresql-database"
}

// Metadata is the record kept beside each snapshot in
// metadata/<c>/<comp>/<id>.json. It is not part of the snapshot's content, so
// it does not change the snapshot's id or checksum.
type Metadata struct {
	Container string     `json:"container"`
	Component string     `json:"component"`
	ID        string     `json:"id"`
	Checksum  string     `json:"checksum"`
	Module    string     `json:"module"`
	Time      time.Time  `json:"time"`
	Host      string     `json:"host"`
	Version   string     `json:"version"`
	Files     []FileInfo `json:"files"`
}

// Committed reports the outcome of a Commit.
type Committed struct {
	Snapshot
	Checksum      string
	Generation    int  // the latest generation after the commit
	NewGeneration bool // false when the latest generation already held this content
	Existed       bool // the payload was already in the store (de-duplicated)
}

// Commit takes a snapshot of k: fill streams the dump into a Dump; the store
// derives the snapshot's id from the content, makes it visible atomically and
// adds a generation when the latest one points elsewhere. If fill fails,
// nothing becomes visible.
//
// The id is the NAR hash of the payload directory in nixbase32, so the id is
// the checksum: the same data gives the same id on any machine running the
// same version of the compressor.
func (s *Store) Commit(ctx context.Context, k Key, meta Meta, fill func(*Dump) error) (Committed, error) {
	if err := k.Validate(); err != nil {
		return Committed{}, err
	}
	work, err := s.workDir("commit")
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	defer os.RemoveAll(work)

	payload := filepath.Join(work, "payload")
	if err := os.Mkdir(payload, 0o755); err != nil {
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
	if err := syncTree(payload); err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	sum, err := NARHash(payload)
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	sn := Snapshot{Key: k, ID: strings.TrimPrefix(sum, "sha256:")}
	host, _ := os.Hostname()
	md := Metadata{
		Container: k.Container, Component: k.Component, ID: sn.ID, Checksum: sum,
		Module: meta.Module, Time: time.Now().UTC().Truncate(time.Second), Host: host,
		Version: s.Version, Files: files,
	}

	unlock, err := s.Lock(ctx, "snapshot "+k.String())
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	defer unlock()
	existed, err := s.install(sn, payload, sum, &md)
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	gen, added, err := s.addGeneration(sn)
	if err != nil {
		return Committed{}, fmt.Errorf("snapshot %s: %w", k, err)
	}
	return Committed{Snapshot: sn, Checksum: sum, Generation: gen, NewGeneration: added, Existed: existed}, nil
}

// install makes payload visible as snapshot sn, unless a snapshot with that
// id is already there. The checksum and metadata are written first, so every
// visible snapshot has them. The caller holds the lock.
func (s *Store) install(sn Snapshot, payload, sum string, md *Metadata) (existed bool, err error) {
	target := s.SnapshotDir(sn)
	if _, err := os.Lstat(target); err == nil {
		return true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	sumFile := s.path("checksums", sn.Container, sn.Component, sn.ID)
	if err := os.MkdirAll(filepath.Dir(sumFile), 0o755); err != nil {
		return false, err
	}
	if err := writeFileAtomic(sumFile, []byte(sum), 0o644); err != nil {
		return false, err
	}
	if md != nil {
		mdFile := s.path("metadata", sn.Container, sn.Component, sn.ID+".json")
		if err := os.MkdirAll(filepath.Dir(mdFile), 0o755); err != nil {
			return false, err
		}
		data, _ := json.MarshalIndent(md, "", "  ")
		if err := writeFileAtomic(mdFile, append(data, '\n'), 0o644); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(payload, target); err != nil {
		return false, err
	}
	return false, syncDir(filepath.Dir(target))
}

// workDir creates a private directory under tmp/ for an unfinished write. Its
// name carries the pid, so that gc can tell abandoned ones from live ones.
func (s *Store) workDir(what string) (string, error) {
	tmp := s.path("tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(tmp, fmt.Sprintf("%s-%d-", what, os.Getpid()))
}

// syncTree fsyncs every file and directory below root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
