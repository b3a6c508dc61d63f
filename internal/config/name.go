package config

import (
	"os"
	"path/filepath"
	"strings"
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
