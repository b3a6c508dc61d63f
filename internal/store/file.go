package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-community/go-nix/pkg/nar"
	"golang.org/x/sys/unix"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// mkdirAll is os.MkdirAll that also syncs the parent of every directory it
// creates, so that a directory that later receives a renamed snapshot
// survives a crash together with it. Directories it creates inside the
// state directory (and the state directory itself) are private (DirMode);
// those above it, 0755.
func (s *Store) mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	mode := fs.FileMode(0o755)
	if within(s.dir, dir) {
		mode = DirMode
	}
	if err := os.Mkdir(dir, mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	return atomicfile.SyncDir(parent)
}

// within reports whether path is root or lies below it (lexically).
func within(root, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(root), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// syncDirs fsyncs every directory below and including root. Regular files
// are synced by whoever wrote them.
func syncDirs(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return atomicfile.SyncDir(p)
	})
}

// syncTree fsyncs every regular file and directory below and including root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// exchange atomically swaps the directory entries a and b (both must exist
// on the same file system).
func exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// sameTree reports whether a and b hold the same tree: the same names, types,
// executable bits, symlink targets and file contents. It compares their NAR
// serialisations, which is exactly what the checksum covers.
func sameTree(a, b string) (bool, error) {
	ra, wa := io.Pipe()
	rb, wb := io.Pipe()
	go func() { wa.CloseWithError(dumpOrEOF(wa, a)) }()
	go func() { wb.CloseWithError(dumpOrEOF(wb, b)) }()
	defer ra.Close()
	defer rb.Close()
	bufA := make([]byte, 256<<10)
	bufB := make([]byte, 256<<10)
	for {
		na, ea := io.ReadFull(ra, bufA)
		nb, eb := io.ReadFull(rb, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		doneA := errors.Is(ea, io.EOF) || errors.Is(ea, io.ErrUnexpectedEOF)
		doneB := errors.Is(eb, io.EOF) || errors.Is(eb, io.ErrUnexpectedEOF)
		if ea != nil && !doneA {
			return false, ea
		}
		if eb != nil && !doneB {
			return false, eb
		}
		if doneA || doneB {
			return doneA && doneB, nil
		}
	}
}

func dumpOrEOF(w io.Writer, path string) error {
	if err := nar.DumpPath(w, path); err != nil {
		return err
	}
	return io.EOF
}

// copyTree copies src (a directory or a regular file) to dst, which must not
// exist. Regular files are hard-linked when src and dst share a file system
// and copied otherwise; the executable bit is kept. Symlinks are copied if
// CheckLinkTarget accepts them; any other symlink, and any other file type,
// is an error. Copied files and directories are synced.
func copyTree(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symlink", src)
	}
	return copyNode(src, dst)
}

func copyNode(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := CheckLinkTarget(target); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		return os.Symlink(target, dst)
	case fi.IsDir():
		if err := mkdirPrivate(dst); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := copyNode(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		return atomicfile.SyncDir(dst)
	case fi.Mode().IsRegular():
		if err := os.Link(src, dst); err == nil {
			return nil
		}
		return copyRegular(src, dst, fi.Mode())
	}
	return fmt.Errorf("%s: unsupported file type %v", src, fi.Mode().Type())
}

func copyRegular(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := createPrivate(dst, mode&0o100 != 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// CheckLinkTarget accepts a symlink inside a snapshot only if its target is
// relative and has no ".." component. Such a link can only point further
// down, and no chain of such links can leave the snapshot; anything else is
// refused, because reading the snapshot would follow it out of the store.
func CheckLinkTarget(target string) error {
	if target == "" || strings.HasPrefix(target, "/") || strings.Contains(target, "\x00") {
		return fmt.Errorf("symlink to %q leaves the snapshot", target)
	}
	for _, part := range strings.Split(target, "/") {
		if part == ".." {
			return fmt.Errorf("symlink to %q leaves the snapshot", target)
		}
	}
	return nil
}
