package subversion

import (
	"io/fs"
	"os"
	"path/filepath"
)

// applyGroup gives every file of the repository dir the group gid and group
// write permission, and db/ the set-group-id bit, so that files the server
// creates later get the group too. gid -1 leaves dir as it is.
func applyGroup(dir string, gid int) error {
	if gid < 0 {
		return nil
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		// Chown may have dropped set-id bits; keep those of dirs.
		return os.Chmod(p, fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)|0o020)
	})
	if err != nil {
		return err
	}
	db := filepath.Join(dir, "db")
	fi, err := os.Stat(db)
	if err != nil {
		return err
	}
	return os.Chmod(db, fi.Mode()&(fs.ModePerm|fs.ModeSticky)|fs.ModeSetgid|0o020)
}
