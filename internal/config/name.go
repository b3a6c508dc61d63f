package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/name"
)

// StoreDir is the Nix store prefix used to strip hashes from names:
// NIX_STORE_DIR, or /nix/store.
func StoreDir() string {
	if d := os.Getenv("NIX_STORE_DIR"); d != "" {
		return strings.TrimRight(d, "/")
	}
	return "/nix/store"
}

// NameOf derives a component or container name from a path, as upstream does:
// the basename, without the "<32-char hash>-" prefix when the path lies in the
// Nix store. A name that is not a path comes back unchanged.
func NameOf(path string) string {
	base := filepath.Base(path)
	if !strings.HasPrefix(path, StoreDir()+"/") {
		return base
	}
	return stripHash(base)
}

// stripHash drops a leading "<32 nixbase32 chars>-" from a store name.
func stripHash(name string) string {
	if len(name) <= 33 || name[32] != '-' {
		return name
	}
	for i := 0; i < 32; i++ {
		if !isNixBase32(name[i]) {
			return name
		}
	}
	return name[33:]
}

func isNixBase32(c byte) bool {
	// nixbase32 omits e, o, u and t.
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'z' && c != 'e' && c != 'o' && c != 'u' && c != 't')
}

// IsPath reports whether a command-line value names a path rather than a name:
// upstream treats values starting with "/" or "./" as paths.
func IsPath(v string) bool {
	return strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./")
}

// ArgName is the name a command-line value stands for: a path (starting
// with "/" or "./") stands for its name (NameOf), anything else is the name
// itself. Either must be a valid name (package name); the error names the
// flag and the value.
func ArgName(flag, v string) (string, error) {
	n := v
	if IsPath(v) {
		n = NameOf(filepath.Clean(v))
	}
	if err := name.Check(n); err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, strconv.Quote(v), err)
	}
	return n, nil
}
