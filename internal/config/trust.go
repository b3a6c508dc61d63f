package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Evaluating a value such as mem="$(grep MemTotal /proc/meminfo | …)" runs
// the file's text as code, as the user running dysnomia. That gives nothing
// away when everyone who can change the file can run code as that user
// anyway: root, and the user himself. So a file is evaluated only if the
// file and every directory on the way to it (through every symlink) belong
// to root or to the effective user, and no one else can write to them.
// A directory that others can write to but that has the sticky bit (/tmp,
// /nix/store) counts as safe for the entries its trusted owners own, since
// only an entry's owner can rename or remove it there.
//
// The consequences: root evaluates only root's files (a file a user can
// edit would hand that user root); a user evaluates root's files and his
// own (root's code run as the user grants nothing). Upstream's NixOS module
// writes /etc/dysnomia/properties into the Nix store, which passes.

// TrustError says why a file's shell code is not evaluated.
type TrustError struct {
	File   string // the file as named
	Path   string // the file or directory that fails the rule
	Reason string
}

func (e *TrustError) Error() string {
	subject := e.Path
	if abs, err := filepath.Abs(e.File); err == nil && abs == e.Path {
		subject = "it"
	}
	return fmt.Sprintf("%s is not evaluated: %s %s. Shell code in a container or properties file runs only when the file and every directory above it belong to root (or to the user running dysnomia) and no one else can write to them; "+
		"to run it anyway give --shell-values=eval (or DYSNOMIA_SHELL_VALUES=eval), to keep such values as written --shell-values=literal", e.File, subject, e.Reason)
}

// Trusted checks path against the rule above. It returns the path with
// every symlink resolved and the file's FileInfo, so that the caller can
// open exactly the file that was checked.
func Trusted(path string) (string, fs.FileInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, err
	}
	hops := 0
	real, fi, err := walkTrusted(abs, os.Geteuid(), &hops)
	if err != nil {
		var te *TrustError
		if errors.As(err, &te) {
			te.File = path
		}
		return "", nil, err
	}
	return real, fi, nil
}

// walkTrusted resolves abs one component at a time from "/", checking each
// directory, symlink and the final file; a symlink restarts the walk at its
// target with the rest of the path appended.
func walkTrusted(abs string, euid int, hops *int) (string, fs.FileInfo, error) {
	cur := "/"
	fi, err := os.Lstat(cur)
	if err != nil {
		return "", nil, err
	}
	if err := trustedEntry(cur, fi, euid, false); err != nil {
		return "", nil, err
	}
	parts := strings.Split(strings.TrimPrefix(filepath.Clean(abs), "/"), "/")
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		fi, err = os.Lstat(next)
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if err := trustedOwner(next, fi, euid); err != nil {
				return "", nil, err
			}
			if *hops++; *hops > 40 {
				return "", nil, fmt.Errorf("%s: too many levels of symbolic links", abs)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", nil, err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target) // cur has no symlinks: ".." is lexical
			}
			return walkTrusted(filepath.Join(append([]string{target}, parts[i+1:]...)...), euid, hops)
		}
		if err := trustedEntry(next, fi, euid, i == len(parts)-1); err != nil {
			return "", nil, err
		}
		cur = next
	}
	return cur, fi, nil
}

// trustedEntry checks one directory on the way (last false) or the file
// itself (last true).
func trustedEntry(p string, fi fs.FileInfo, euid int, last bool) error {
	if err := trustedOwner(p, fi, euid); err != nil {
		return err
	}
	switch {
	case last && !fi.Mode().IsRegular():
		return &TrustError{Path: p, Reason: "is not a regular file"}
	case !last && !fi.IsDir():
		return &TrustError{Path: p, Reason: "is not a directory"}
	}
	writable := fi.Mode().Perm()&0o022 != 0
	if writable && (last || fi.Mode()&fs.ModeSticky == 0) {
		return &TrustError{Path: p, Reason: fmt.Sprintf("can be written by its group or by others (mode %04o)", fi.Mode().Perm())}
	}
	return nil
}

func trustedOwner(p string, fi fs.FileInfo, euid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return &TrustError{Path: p, Reason: "has no owner this system can tell"}
	}
	uid := int(st.Uid)
	if uid == 0 || uid == euid {
		return nil
	}
	owner := strconv.Itoa(uid)
	if u, err := user.LookupId(owner); err == nil {
		owner += " (" + u.Username + ")"
	}
	return &TrustError{Path: p, Reason: "belongs to uid " + owner}
}

// parseTrusted parses a file read as data under ShellTrusted. A file whose
// values need no shell is simply parsed. Otherwise the file is checked
// with Trusted; a file that passes is opened again at the checked path
// (and must still be the checked file), and its values are evaluated with
// its directory as the working directory (trusted too, by the same check).
// A file that fails gives one error per value that needs the shell, then
// the TrustError.
func parseTrusted(path string, data []byte) (Properties, error) {
	props, shell, err := parse(&parser{name: path, src: data, line: 1, mode: ShellLiteral})
	if !shell {
		return props, err
	}
	real, fi, terr := Trusted(path)
	if terr != nil {
		props, _, err := parse(&parser{name: path, src: data, line: 1, mode: ShellTrusted, untrusted: terr})
		return props, errors.Join(err, terr)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	now, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(fi, now) {
		return nil, fmt.Errorf("%s changed while it was checked; try again", path)
	}
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	props, _, err = parse(&parser{name: path, src: data, line: 1, mode: ShellEval, dir: filepath.Dir(real)})
	return props, err
}
