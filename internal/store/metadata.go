package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// Meta is what a module tells the store about a snapshot it commits.
type Meta struct {
	Module string // the module type, e.g. "postgresql-database"
}

// Metadata is the record kept beside each snapshot in
// metadata/<c>/<comp>/<id>.json. It is not part of the snapshot's content, so
// it does not change the snapshot's id or checksum: identical state taken at
// another time, or on another host, still de-duplicates.
type Metadata struct {
	Container string     `json:"container"`
	Component string     `json:"component"`
	ID        string     `json:"id"`
	Checksum  string     `json:"checksum"`
	Module    string     `json:"module,omitempty"`
	Time      time.Time  `json:"time"`
	Host      string     `json:"host,omitempty"`
	Version   string     `json:"version,omitempty"`
	Files     []FileInfo `json:"files,omitempty"`
}

// maxMetadataSize bounds a metadata record read from disk or from an import.
const maxMetadataSize = 1 << 20

// ParseMetadata decodes a metadata record and checks that it describes sn.
func ParseMetadata(sn Snapshot, data []byte) (*Metadata, error) {
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("metadata of %s: larger than %d bytes", sn.Rel(), maxMetadataSize)
	}
	var md Metadata
	if err := json.Unmarshal(data, &md); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", sn.Rel(), err)
	}
	if md.Container != sn.Container || md.Component != sn.Component || md.ID != sn.ID {
		return nil, fmt.Errorf("metadata of %s describes %s/%s/%s", sn.Rel(), md.Container, md.Component, md.ID)
	}
	return &md, nil
}

// Metadata reads the metadata record of sn; it returns nil and no error when
// the snapshot has none (snapshots written by upstream Dysnomia).
func (s *Store) Metadata(sn Snapshot) (*Metadata, error) {
	data, err := os.ReadFile(s.metadataFile(sn))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseMetadata(sn, data)
}

func (s *Store) metadataFile(sn Snapshot) string {
	return s.path("metadata", sn.Container, sn.Component, sn.ID+".json")
}

func (s *Store) writeMetadata(sn Snapshot, md *Metadata) error {
	data, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	file := s.metadataFile(sn)
	if err := s.mkdirAll(filepath.Dir(file)); err != nil {
		return err
	}
	return atomicfile.Write(file, append(data, '\n'), FileMode)
}
