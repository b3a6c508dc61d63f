package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// NARHash returns the NAR serialisation hash of path in Nix's form,
// "sha256:<nixbase32>": the value `nix-hash --type sha256 --base32` prints,
// with the algorithm prefix.
func NARHash(path string) (string, error) {
	h := sha256.New()
	if err := nar.DumpPath(h, path); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return "sha256:" + nixbase32.EncodeToString(h.Sum(nil)), nil
}

// upstreamHash computes the checksum upstream Dysnomia 0.10.2 writes:
// sha256 in hex over the list of relative paths (".", "./a", …, one per line,
// then an empty line) followed by the contents of every regular file, in the
// same (sorted) order. For a single file it is the hash of its bytes.
func upstreamHash(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if !fi.IsDir() {
		if err := copyFile(h, path); err != nil {
			return "", err
		}
		return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		if rel == "." {
			io.WriteString(h, ".\n")
		} else {
			io.WriteString(h, "./"+rel+"\n")
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	io.WriteString(h, "\n")
	for _, f := range files {
		if err := copyFile(h, f); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// checksumOf computes the checksum of path in the same form as want: NAR
// hashes for checksums we write, upstream's hex stream hash for checksums
// upstream wrote.
func checksumOf(path, want string) (string, error) {
	if isUpstreamChecksum(want) {
		return upstreamHash(path)
	}
	return NARHash(path)
}

func isUpstreamChecksum(c string) bool {
	return strings.HasPrefix(c, "sha256:") && len(c) == len("sha256:")+64
}

// ValidChecksum accepts the two checksum forms a store holds:
// "sha256:<52 nixbase32>" (NAR hashes, written by this implementation) and
// "sha256:<64 lowercase hex>" (written by upstream Dysnomia).
func ValidChecksum(c string) error {
	h, ok := strings.CutPrefix(c, "sha256:")
	switch {
	case !ok:
		return fmt.Errorf("checksum %q: want sha256:<hash>", c)
	case IsNARID(h):
		return nil
	case len(h) == 64 && strings.Trim(h, "0123456789abcdef") == "":
		return nil
	}
	return fmt.Errorf("checksum %q: want sha256: and 52 nixbase32 or 64 hex digits", c)
}

// Checksum reads the stored checksum of sn; ok is false when there is none.
func (s *Store) Checksum(sn Snapshot) (sum string, ok bool, err error) {
	data, err := os.ReadFile(s.checksumFile(sn))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(string(data)), true, nil
}

func (s *Store) checksumFile(sn Snapshot) string {
	return s.path("checksums", sn.Container, sn.Component, sn.ID)
}
