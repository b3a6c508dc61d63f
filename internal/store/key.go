// Package store holds Dysnomia's state directory: activation markers and the
// snapshot store with its generations, checksums and metadata.
//
// The layout under the state directory is upstream's:
//
//	snapshots/<c>/<comp>/<id>/…       snapshot payloads
//	generations/<c>/<comp>/<N>        relative symlinks to ../../../snapshots/<c>/<comp>/<id>
//	checksums/<c>/<comp>/<id>         "sha256:<hash>" without a newline
//	activated/<c>/<comp>              the component is active
//	garbage/<c>/<comp>                deactivated, state not deleted yet
//
// plus what this implementation adds:
//
//	metadata/<c>/<comp>/<id>.json     when, where and how a snapshot was taken
//	tmp/                              work directories of unfinished writes
//	lock                              the writers' lock file
package store

import (
	"fmt"
	"strings"
)

// Key names a component inside a container.
type Key struct {
	Container string
	Component string
}

func (k Key) String() string { return k.Container + "/" + k.Component }

// Validate checks that both parts are safe single path segments.
func (k Key) Validate() error {
	if err := ValidSegment(k.Container); err != nil {
		return fmt.Errorf("container name: %w", err)
	}
	if err := ValidSegment(k.Component); err != nil {
		return fmt.Errorf("component name: %w", err)
	}
	return nil
}

// ValidSegment accepts names usable as one directory entry: not empty, not
// "." or "..", no "/" and no NUL.
func ValidSegment(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty name")
	case s == "." || s == "..":
		return fmt.Errorf("invalid name %q", s)
	case strings.ContainsAny(s, "/\x00"):
		return fmt.Errorf("invalid name %q: contains '/' or NUL", s)
	}
	return nil
}

// Snapshot names one snapshot in the store.
type Snapshot struct {
	Key
	ID string
}

// Rel is the snapshot's path relative to snapshots/: "<c>/<comp>/<id>", the
// form the command-line tools print and accept.
func (s Snapshot) Rel() string { return s.Container + "/" + s.Component + "/" + s.ID }

// ParseRel parses "<c>/<comp>/<id>", accepting only safe segments.
func ParseRel(rel string) (Snapshot, error) {
	parts := strings.Split(rel, "/")
	if len(parts) != 3 {
		return Snapshot{}, fmt.Errorf("snapshot %q: want <container>/<component>/<id>", rel)
	}
	for _, p := range parts {
		if err := ValidSegment(p); err != nil {
			return Snapshot{}, fmt.Errorf("snapshot %q: %w", rel, err)
		}
	}
	return Snapshot{Key: Key{parts[0], parts[1]}, ID: parts[2]}, nil
}
