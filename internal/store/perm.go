package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The store is private to its owner: every directory it makes is 0700 and
// every file 0600 (0700 for a payload file that is executable, the one mode
// bit a NAR hash records), whatever the umask. Dumps hold whole databases;
// no other local user may read them.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
	ExecMode fs.FileMode = 0o700
)

// privateMode is the mode the store wants for an entry of mode m.
func privateMode(m fs.FileMode) fs.FileMode {
	switch {
	case m.IsDir():
		return DirMode
	case m&0o100 != 0:
		return ExecMode
	}
	return FileMode
}

// mkdirPrivate makes one directory with mode DirMode, whatever the umask.
func mkdirPrivate(dir string) error {
	if err := os.Mkdir(dir, DirMode); err != nil {
		return err
	}
	return os.Chmod(dir, DirMode)
}

// mkdirAllPrivate makes dir and its missing parents below root, private.
func mkdirAllPrivate(root, dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if dir != root && within(root, dir) {
		if err := mkdirAllPrivate(root, filepath.Dir(dir)); err != nil {
			return err
		}
	}
	if err := mkdirPrivate(dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// createPrivate creates a new file with mode FileMode (ExecMode when exec),
// whatever the umask.
func createPrivate(path string, exec bool) (*os.File, error) {
	mode := FileMode
	if exec {
		mode = ExecMode
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// CreatePrivate is createPrivate for the packages that receive payloads
// into a work directory of the store (import).
func CreatePrivate(path string, exec bool) (*os.File, error) { return createPrivate(path, exec) }

// MkdirPrivate is mkdirPrivate for the packages that receive payloads into
// a work directory of the store (import).
func MkdirPrivate(dir string) error { return mkdirPrivate(dir) }

// looseModes walks the trees roots and returns one finding per tree that
// holds entries other users may read, write or list (symlinks have no mode
// of their own): its path, how many such entries and one example. A store
// written by an earlier version or by upstream Dysnomia (0755/0644) has
// them everywhere, and one line per file would bury everything else.
func (s *Store) looseModes(ctx context.Context, roots []string) ([]Finding, error) {
	var out []Finding
	for _, root := range roots {
		n := 0
		var example string
		var exampleMode fs.FileMode
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // gone meanwhile, or never made
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if fi.Mode().Perm()&0o077 != 0 {
				if n == 0 {
					example, exampleMode = s.rel(p), fi.Mode()
				}
				n++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			rel := s.rel(root)
			what := plural(n, "entry") + " under " + rel
			if rel == "." {
				what = plural(n, "entry") + " of the state directory " + s.dir
			}
			out = append(out, Finding{Kind: KindPermissions, Path: rel,
				Message: fmt.Sprintf("%s can be read or listed by other users (e.g. %s: mode %04o, want %04o)",
					what, example, exampleMode.Perm(), privateMode(exampleMode))})
		}
	}
	return out, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// permissionRoots are the trees whose modes check looks at for sel: the
// whole state directory for an empty selection, otherwise the selected
// components' directories. (The state directory's own mode is looked at
// either way: see checkPermissions.)
func (s *Store) permissionRoots(sel Selection, keys []Key) []string {
	if sel == (Selection{}) {
		return []string{s.dir}
	}
	var roots []string
	for _, k := range keys {
		for _, kind := range []string{"generations", "snapshots", "checksums", "metadata", "activated", "garbage"} {
			roots = append(roots, s.path(kind, k.Container, k.Component))
		}
	}
	return roots
}

// checkPermissions adds findings for the entries of the selection (and the
// state directory itself) that are not private.
func (s *Store) checkPermissions(ctx context.Context, sel Selection, keys []Key, r *CheckReport) error {
	roots := s.permissionRoots(sel, keys)
	if sel != (Selection{}) {
		fi, err := os.Stat(s.dir)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			r.Findings = append(r.Findings, Finding{Kind: KindPermissions, Path: ".",
				Message: fmt.Sprintf("the state directory %s can be listed by other users (mode %04o, want %04o)", s.dir, fi.Mode().Perm(), DirMode)})
		}
	}
	found, err := s.looseModes(ctx, roots)
	r.Findings = append(r.Findings, found...)
	return err
}

// tightenTree gives every entry under root (root itself included; for the
// state directory itself without a selection, only root) the store's
// private mode, and returns how many it changed.
func tightenTree(root string, recursive bool) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, privateMode(fi.Mode())); err != nil {
				return err
			}
			n++
		}
		if !recursive && p == root && d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	return n, err
}
