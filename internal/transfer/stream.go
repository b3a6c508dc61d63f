// Package transfer moves snapshots between state directories as a single
// NAR stream: `dysnomia snapshots export | dysnomia snapshots import`, over
// a pipe, ssh or a file, is how state moves between machines.
//
// The stream is one Nix archive (NAR) whose root directory mirrors the parts
// of a state directory that describe the exported snapshots:
//
//	/.dysnomia-export                      "dysnomia-export 1\n" (always the first entry)
//	/checksums/<c>/<comp>/<id>             "sha256:<hash>", one per snapshot
//	/generations/<c>/<comp>/<N>            symlink to ../../../snapshots/<c>/<comp>/<id>
//	/metadata/<c>/<comp>/<id>.json         optional metadata record
//	/snapshots/<c>/<comp>/<id>/…           the payload, as stored
//
// NAR orders entries by name, so every checksum arrives before the payload
// it vouches for. The generations give the order in which the receiver runs
// the generation step (numbers are the sender's; only their order matters).
// Since it is a plain NAR, `nix-store --restore DIR < stream` unpacks it for
// inspection.
//
// Import verifies each payload against its checksum in a work directory of
// the receiving store before anything becomes visible, refuses entries that
// could escape the snapshot (names such as "..", duplicates, symlinks
// pointing out, anything outside the layout above), and skips snapshots the
// receiver already has.
package transfer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// marker is the content of /.dysnomia-export.
const marker = "dysnomia-export 1\n"

const (
	markerName    = ".dysnomia-export"
	maxChecksum   = 128
	maxMetadata   = 1 << 20
	linkPrefixFmt = "../../../snapshots/%s/%s/"
)

// ErrTerminal is returned when the stream would be written to, or read from,
// a terminal.
var ErrTerminal = errors.New("refusing to use a terminal for a snapshot stream: redirect it to a file or a pipe")

// generationLink is the symlink target of a generation pointing to sn.
func generationLink(sn store.Snapshot) string {
	return fmt.Sprintf(linkPrefixFmt, sn.Container, sn.Component) + sn.ID
}

// parseGenerationLink returns the id a generation link of k points to.
func parseGenerationLink(k store.Key, target string) (string, error) {
	prefix := fmt.Sprintf(linkPrefixFmt, k.Container, k.Component)
	id, ok := strings.CutPrefix(target, prefix)
	if !ok {
		return "", fmt.Errorf("generation link to %q: want %s<id>", target, prefix)
	}
	if err := store.ValidSegment(id); err != nil {
		return "", fmt.Errorf("generation link to %q: %w", target, err)
	}
	return id, nil
}
