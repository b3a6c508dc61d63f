package webapp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/symlink"
)

// webappsDir is the directory of a stateless component whose entries are
// linked into the document root.
const webappsDir = "webapps"

// link is one link the component puts in the document root.
type link struct {
	path, target string
}

// links lists the component's webapps/ entries (the directory itself may be
// a symlink) as links in root, sorted by name.
func links(comp, root string) ([]link, error) {
	entries, err := os.ReadDir(filepath.Join(comp, webappsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the component %s has neither a .dysnomia-fileset file nor a %s/ directory", comp, webappsDir)
	}
	if err != nil {
		return nil, err
	}
	out := make([]link, 0, len(entries))
	for _, e := range entries {
		out = append(out, link{path: filepath.Join(root, e.Name()), target: filepath.Join(comp, webappsDir, e.Name())})
	}
	return out, nil
}

// activate links every webapps/ entry into the document root; when one
// fails, the links made so far are put back as they were.
func activate(req *module.Request, root string) error {
	ls, err := links(req.Component.Path, root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	var made []string // the previous target of each link made so far
	for i, l := range ls {
		prev, err := symlink.Set(l.path, l.target)
		if err != nil {
			for j := i - 1; j >= 0; j-- {
				symlink.Restore(ls[j].path, ls[j].target, made[j])
			}
			return err
		}
		made = append(made, prev)
	}
	req.Report.Infof("linked %d entries of %s into %s", len(ls), filepath.Join(req.Component.Path, webappsDir), root)
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

// deactivate removes the document root's links into the component (found
// by their targets, so this works after the component itself is gone).
func deactivate(req *module.Request, root string) error {
	removed, err := symlink.RemoveInto(root, req.Component.Path)
	if err != nil {
		return err
	}
	if len(removed) > 0 {
		req.Report.Infof("removed %d links from %s", len(removed), root)
	}
	return req.Store.UnmarkActive(req.Key())
}
