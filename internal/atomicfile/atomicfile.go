// Package atomicfile writes files so that a crash leaves either the old
// content or the new one, never a mix: write a temporary file next to the
// target, sync it, rename it into place, sync the directory.
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempPrefix starts the names of the temporary files Write makes; readers
// of a directory that Write writes into skip such names, and cleanups may
// remove them.
const TempPrefix = ".tmp-"

// Write writes data to a temporary file next to path (in the same
// directory, which must exist), syncs it, gives it mode perm and renames it
// over path, then syncs the directory.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a directory's entries (creations, renames, removals)
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
