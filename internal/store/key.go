// Package store holds Dysnomia's state directory: activation markers and the
// snapshot store with its generations, checksums and metadata.
//
// The layout under the state directory is upstream's:
//
//	snapshots/<c>/<comp>/<id>/…       snapshot payloads: ours are zstd files (dump.sql.zst,
//	                                  continued beyond 64 MiB in dump.sql.zst.000001, …),
//	                                  upstream's are xz files
//	generations/<c>/<comp>/<N>        relative symlinks to ../../../snapshots/<c>/<comp>/<id>
//	checksums/<c>/<comp>/<id>         "sha256:<hash>" without a newline
//	activated/<c>/<comp>              the component is active
//	garbage/<c>/<comp>                deactivated, state not deleted yet
//
// plus what this implementation adds:
//
//	metadata/<c>/<comp>/<id>.json     when, where and how a snapshot was taken
//	tmp/<what>-<pid>-<random>/        work directories of unfinished writes
//	lock                              the writers' lock file (flock), naming its holder
//
// The ids this implementation gives are the NAR hash of the payload
// directory in nixbase32 (what `nix-hash --type sha256 --base32` prints),
// and the checksum file holds "sha256:<id>". Upstream's ids are the hex
// sha256 of the xz file and its checksums hex sha256 of its own stream;
// both kinds are verified, queried and collected alike.
//
// Every write is atomic: payloads are written and synced in a work
// directory and renamed into place (after their checksum and metadata), a
// generation link is renamed into place, gc renames a snapshot out of sight
// before deleting it. A process killed at any point leaves every visible
// snapshot whole; what it leaves in tmp/ or as ".tmp-*" files is removed by
// gc and by check --repair.
package store

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/name"
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

// ValidSegment accepts names usable as one directory entry of the store:
// container and component names and snapshot ids, by the one rule of
// package name.
func ValidSegment(s string) error { return name.Check(s) }

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

// Selection picks components of the store: an empty Container or Component
// matches every one.
type Selection struct {
	Container string
	Component string
}

// Match reports whether k is selected.
func (sel Selection) Match(k Key) bool {
	return (sel.Container == "" || sel.Container == k.Container) &&
		(sel.Component == "" || sel.Component == k.Component)
}

// Keys lists the selected components that have anything in the store
// (generations, snapshots, checksums or metadata), sorted by container and
// component. A missing state directory has none.
func (s *Store) Keys(sel Selection) ([]Key, error) {
	seen := map[Key]bool{}
	for _, kind := range []string{"generations", "snapshots", "checksums", "metadata"} {
		containers, err := readDirNames(s.path(kind))
		if err != nil {
			return nil, err
		}
		for _, c := range containers {
			if sel.Container != "" && c != sel.Container {
				continue
			}
			comps, err := readDirNames(s.path(kind, c))
			if err != nil {
				return nil, err
			}
			for _, comp := range comps {
				k := Key{c, comp}
				if sel.Match(k) && k.Validate() == nil {
					seen[k] = true
				}
			}
		}
	}
	keys := make([]Key, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Container != keys[j].Container {
			return keys[i].Container < keys[j].Container
		}
		return keys[i].Component < keys[j].Component
	})
	return keys, nil
}

// IsNARID reports whether id has the form of the ids this store gives: a
// sha256 in nixbase32 (52 characters). Such an id is the snapshot's NAR hash,
// so its checksum must be "sha256:"+id.
func IsNARID(id string) bool {
	if len(id) != 52 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' && c != 'e' && c != 'o' && c != 'u' && c != 't') {
			return false
		}
	}
	return true
}
