package sqlite

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
	"github.com/dysnomia-go/dysnomia/internal/module"
)

// collectGarbage deletes the database of a component marked as garbage, and
// does nothing for any other.
func collectGarbage(req *module.Request) error {
	k := req.Key()
	garbage, err := req.Store.IsGarbage(k)
	if err != nil || !garbage {
		return err
	}
	s, err := readSettings(req)
	if err != nil {
		return err
	}
	path := s.path(req.Component.Name)
	if _, err := existing(path); err != nil {
		return err
	}
	if err := removeFiles(path); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	req.Report.Infof("removed %s", path)
	return req.Store.UnmarkGarbage(k)
}
