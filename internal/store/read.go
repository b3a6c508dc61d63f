package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// IntegrityError reports snapshots whose content does not match their
// checksum, or that are missing.
type IntegrityError struct {
	Problems []string
}

func (e *IntegrityError) Error() string {
	return "integrity check failed: " + strings.Join(e.Problems, "; ")
}

// Payload is a verified snapshot opened for reading.
type Payload struct {
	Snapshot
	Dir   string
	files map[string]string // logical name -> file name on disk
}

// Read verifies snapshot sn against its checksum and opens it for reading.
// A snapshot without a checksum file is read with a warning, as upstream
// does; one whose content does not match is refused with an *IntegrityError.
func (s *Store) Read(ctx context.Context, sn Snapshot) (*Payload, error) {
	dir := s.SnapshotDir(sn)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", sn.Rel(), err)
	}
	if err := s.Verify(sn); err != nil {
		return nil, err
	}
	p := &Payload{Snapshot: sn, Dir: dir, files: map[string]string{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		p.files[logicalName(rel)] = rel
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", sn.Rel(), err)
	}
	return p, nil
}

// Verify checks snapshot sn against checksums/<c>/<comp>/<id>.
func (s *Store) Verify(sn Snapshot) error {
	want, err := os.ReadFile(s.path("checksums", sn.Container, sn.Component, sn.ID))
	if errors.Is(err, fs.ErrNotExist) {
		s.Report.Warnf("no checksum found for snapshot %s", sn.Rel())
		return nil
	}
	if err != nil {
		return err
	}
	got, err := checksumOf(s.SnapshotDir(sn), strings.TrimSpace(string(want)))
	if err != nil {
		return fmt.Errorf("verify snapshot %s: %w", sn.Rel(), err)
	}
	if got != strings.TrimSpace(string(want)) {
		return &IntegrityError{Problems: []string{fmt.Sprintf("checksum mismatch for snapshot %s: have %s, want %s", sn.Rel(), got, strings.TrimSpace(string(want)))}}
	}
	return nil
}

// logicalName strips a compression suffix: "dump.sql.zst" and "dump.sql.xz"
// are both "dump.sql".
func logicalName(name string) string {
	for _, suf := range []string{".zst", ".xz"} {
		if strings.HasSuffix(name, suf) {
			return strings.TrimSuffix(name, suf)
		}
	}
	return name
}

// Files lists the payload's logical file names (without compression
// suffixes), sorted.
func (p *Payload) Files() []string {
	names := make([]string, 0, len(p.files))
	for n := range p.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the payload holds the logical file name.
func (p *Payload) Has(name string) bool {
	_, ok := p.files[name]
	return ok
}

// Open opens a logical payload file, decompressing zstd (ours) or xz
// (upstream's) transparently.
func (p *Payload) Open(name string) (io.ReadCloser, error) {
	disk, ok := p.files[name]
	if !ok {
		return nil, fmt.Errorf("snapshot %s has no file %s", p.Rel(), name)
	}
	f, err := os.Open(filepath.Join(p.Dir, filepath.FromSlash(disk)))
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(disk, ".zst"):
		dec, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &readCloser{Reader: dec, close: func() error { dec.Close(); return f.Close() }}, nil
	case strings.HasSuffix(disk, ".xz"):
		dec, err := xz.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open %s: %w", disk, err)
		}
		return &readCloser{Reader: dec, close: f.Close}, nil
	}
	return f, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
