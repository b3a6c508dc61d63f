package subversion

import (
	"context"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// collectGarbage removes the repository of a component marked as garbage:
// renamed into the work directory first, then removed, so that no
// half-removed repository is ever visible. An active component is left
// alone.
func collectGarbage(ctx context.Context, req *module.Request, s *settings) error {
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil {
		return err
	}
	if !garbage {
		req.Report.Infof("%s is not deactivated; keeping repository %s", req.Key(), s.repo)
		return nil
	}
	release, err := lockRepo(ctx, req, s, true)
	if err != nil {
		return err
	}
	defer release()
	exists, err := isRepo(s.repo)
	if err != nil {
		return err // refuse to remove what is not a repository
	}
	if exists {
		aside := filepath.Join(s.work, oldName)
		if err := os.Rename(s.repo, aside); err != nil {
			return err
		}
		if err := syncDir(s.baseDir); err != nil {
			return err
		}
		if err := os.RemoveAll(aside); err != nil {
			return err
		}
		req.Report.Infof("removed repository %s", s.repo)
	}
	return req.Store.UnmarkGarbage(req.Key())
}
