package subversion

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// DumpDir is the component's directory of initial dump files.
const DumpDir = "subversion-repositories"

// activate creates the repository from the component's dump unless it
// exists, then marks the component active.
func activate(ctx context.Context, req *module.Request, s *settings) error {
	exists, err := isRepo(s.repo)
	if err != nil {
		return err
	}
	if !exists {
		dumps, err := initDumps(req.Component.Path)
		if err != nil {
			return err
		}
		release, err := lockRepo(ctx, req, s, true)
		if err != nil {
			return err
		}
		defer release()
		// Another process may have created it while we waited.
		if exists, err = isRepo(s.repo); err != nil {
			return err
		}
		if !exists {
			if err := createFromDumps(ctx, req, s, dumps); err != nil {
				return err
			}
		}
	}
	if exists {
		req.Report.Infof("repository %s exists; not loading the initial dump", s.repo)
	}
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

// createFromDumps builds the repository in the work directory and renames
// it into place once the dumps have loaded. The caller holds the lock.
func createFromDumps(ctx context.Context, req *module.Request, s *settings, dumps []string) error {
	work := filepath.Join(s.work, newName)
	defer os.RemoveAll(work) // gone after the rename; a failure's leftovers
	if err := s.create(ctx, work); err != nil {
		return err
	}
	if len(dumps) > 0 {
		names := make([]string, len(dumps))
		for i, d := range dumps {
			names[i], _ = filepath.Rel(req.Component.Path, d)
		}
		what := "initial dump " + strings.Join(names, ", ")
		req.Report.Infof("loading %s into %s", what, s.repo)
		in, closeAll, err := concat(dumps)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err = s.svnadmin(ctx, in, nil, "load", "--quiet", "--", work)
		closeAll()
		if err != nil {
			return fmt.Errorf("load %s (no repository was created): %w", what, err)
		}
	}
	if err := applyGroup(work, s.gid); err != nil {
		return fmt.Errorf("apply svnGroup %s: %w", s.group, err)
	}
	if err := os.Rename(work, s.repo); err != nil {
		return err
	}
	req.Report.Infof("created repository %s (%d dump files)", s.repo, len(dumps))
	return nil
}

// initDumps lists the regular files in the component's
// subversion-repositories/, in byte order. A component without the directory
// has none.
func initDumps(component string) ([]string, error) {
	dir := filepath.Join(component, DumpDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("initial dumps: %w", err)
	}
	var files []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p) // the component may be a tree of symlinks
		if err != nil {
			return nil, fmt.Errorf("initial dump %s: %w", p, err)
		}
		if fi.Mode().IsRegular() {
			files = append(files, p)
		}
	}
	sort.Strings(files)
	return files, nil
}

// concat opens files as one stream.
func concat(files []string) (io.Reader, func(), error) {
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	readers := make([]io.Reader, 0, len(files))
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		opened = append(opened, f)
		readers = append(readers, f)
	}
	return io.MultiReader(readers...), closeAll, nil
}
