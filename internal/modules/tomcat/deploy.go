package tomcat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/symlink"
)

// link is one link the component puts in place.
type link struct {
	path, target string
}

// archives lists the component's archives as links in the deployment
// directory. The archives directory may itself be a symlink; links point
// at the archive's path below the component.
func (m Module) archives(comp string, s *settings) ([]link, error) {
	dir := filepath.Join(comp, m.kind.archives)
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []link
	seen := map[string]string{}
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == real || !strings.HasSuffix(d.Name(), m.kind.suffix) {
			return nil
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, rel)
		if other, dup := seen[d.Name()]; dup {
			return fmt.Errorf("%s and %s would both be deployed as %s", other, target, d.Name())
		}
		seen[d.Name()] = target
		out = append(out, link{path: filepath.Join(s.deployDir, d.Name()), target: target})
		if d.IsDir() {
			return filepath.SkipDir // an unpacked archive is deployed whole
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, err
}

// contexts lists the component's conf/Catalina entries as links.
func contexts(comp string, s *settings) ([]link, error) {
	dir := filepath.Join(comp, "conf", "Catalina")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []link
	for _, e := range entries {
		out = append(out, link{path: filepath.Join(s.confDir(), e.Name()), target: filepath.Join(dir, e.Name())})
	}
	return out, nil
}

func (m Module) activate(ctx context.Context, req *module.Request, s *settings) error {
	archives, err := m.archives(req.Component.Path, s)
	if err != nil {
		return err
	}
	confs, err := contexts(req.Component.Path, s)
	if err != nil {
		return err
	}
	if len(archives) == 0 {
		req.Report.Warnf("%s %s has no %s files below %s/", m.kind.description, req.Component.Name, m.kind.suffix, m.kind.archives)
	}
	if err := waitForDir(ctx, s.deployDir, s.timeout, req.Report); err != nil {
		return err
	}
	if len(confs) > 0 {
		if err := os.MkdirAll(s.confDir(), 0o755); err != nil {
			return err
		}
	}
	all := append(archives, confs...)
	var prevs []string
	for i, l := range all {
		prev, err := symlink.Set(l.path, l.target)
		if err != nil {
			for j := i - 1; j >= 0; j-- {
				symlink.Restore(all[j].path, all[j].target, prevs[j])
			}
			return err
		}
		prevs = append(prevs, prev)
	}
	req.Report.Infof("linked %d %s files into %s", len(archives), m.kind.suffix, s.deployDir)
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

func (m Module) deactivate(req *module.Request, s *settings) error {
	var errs []error
	for _, dir := range []string{s.deployDir, s.confDir()} {
		removed, err := symlink.RemoveInto(dir, req.Component.Path)
		if err != nil {
			errs = append(errs, err)
		}
		if len(removed) > 0 {
			req.Report.Infof("removed %s from %s", strings.Join(removed, ", "), dir)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return req.Store.UnmarkActive(req.Key())
}
