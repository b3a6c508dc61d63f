// Package fileset is the fileset module: a directory tree with static parts
// (symlinks into the component) and mutable parts (directories whose content
// is state).
//
// A component describes itself with three files:
//
//	.dysnomia-targetdir      the absolute directory the fileset lives in
//	.dysnomia-fileset        directives, one per line:
//	                           mkdir REL        a mutable directory (state)
//	                           symlink PATH     a file or directory of the component ...
//	                           target REL       ... linked into this directory
//	.dysnomia-filesetowner   optional "user:group" owning the mutable directories
//
// Container properties targetDir and filesetOwner override the first and
// third. Blank lines and # comments are allowed; an unknown directive is an
// error before anything is changed.
//
// Activities: activate creates the links and directories; deactivate removes
// the links and keeps the state; collect-garbage deletes the mutable
// directories of a deactivated fileset; snapshot stores a tar of the mutable
// directories (state.tar, with numeric owners and mtimes, sorted, so unchanged
// files give the same snapshot); restore extracts the chosen snapshot into a
// staging directory and swaps each mutable directory into place, so a failed
// restore leaves the old state. Upstream snapshots (state.tar.xz) restore too.
package fileset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Module implements module.Module.
type Module struct{}

const payloadName = "state.tar"

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.Snapshot, module.Restore, module.CollectGarbage, module.Shell:
	default:
		return nil
	}
	spec, err := LoadSpec(req)
	if err != nil {
		return err
	}
	switch req.Activity {
	case module.Activate:
		return activate(req, spec)
	case module.Deactivate:
		return deactivate(req, spec)
	case module.Snapshot:
		return snapshot(ctx, req, spec)
	case module.Restore:
		return restore(ctx, req, spec)
	case module.CollectGarbage:
		return collectGarbage(req, spec)
	case module.Shell:
		fmt.Fprintf(req.Stderr, "Fileset %s lives in %s ($targetDir); its mutable directories: %v\n", req.Component.Name, spec.TargetDir, spec.Mkdirs)
	}
	return nil
}

// ShellEnv implements module.ShellEnviron.
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	spec, err := LoadSpec(req)
	if err != nil {
		return nil, err
	}
	return []string{"targetDir=" + spec.TargetDir}, nil
}

func activate(req *module.Request, s *Spec) error {
	if err := os.MkdirAll(s.TargetDir, 0o755); err != nil {
		return fmt.Errorf("activate fileset %s: %w", req.Component.Name, err)
	}
	var made []Link
	for _, l := range s.Links {
		if err := link(s.TargetDir, l); err != nil {
			removeLinks(s.TargetDir, made)
			return fmt.Errorf("activate fileset %s: %w", req.Component.Name, err)
		}
		made = append(made, l)
	}
	for _, d := range s.Mkdirs {
		p := filepath.Join(s.TargetDir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			removeLinks(s.TargetDir, made)
			return fmt.Errorf("activate fileset %s: %w", req.Component.Name, err)
		}
		if s.Owner != nil {
			if err := os.Lchown(p, s.Owner.UID, s.Owner.GID); err != nil {
				removeLinks(s.TargetDir, made)
				return fmt.Errorf("activate fileset %s: owner %s: %w", req.Component.Name, s.Owner.Spec, err)
			}
		}
	}
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

// link makes TargetDir/l.Path() point at l.Source, replacing an existing
// link atomically.
func link(target string, l Link) error {
	dir := filepath.Join(target, l.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(target, l.Path())
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symlink; refusing to replace it", p)
	}
	tmp := p + ".dysnomia-new"
	os.Remove(tmp)
	if err := os.Symlink(l.Source, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// removeLinks removes the links (only if they are symlinks) and the
// directories that held them once empty, never the target directory itself.
func removeLinks(target string, links []Link) error {
	var errs []error
	for _, l := range links {
		p := filepath.Join(target, l.Path())
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
			}
		}
		for dir := filepath.Dir(p); dir != target && len(dir) > len(target); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break // not empty (or gone): stop climbing
			}
		}
	}
	return errors.Join(errs...)
}

func deactivate(req *module.Request, s *Spec) error {
	if err := removeLinks(s.TargetDir, s.Links); err != nil {
		return fmt.Errorf("deactivate fileset %s: %w", req.Component.Name, err)
	}
	return req.Store.MarkGarbage(req.Key())
}

func collectGarbage(req *module.Request, s *Spec) error {
	garbage, err := req.Store.IsGarbage(req.Key())
	if err != nil || !garbage {
		return err
	}
	for _, d := range s.Mkdirs {
		if err := os.RemoveAll(filepath.Join(s.TargetDir, d)); err != nil {
			return fmt.Errorf("collect garbage of fileset %s: %w", req.Component.Name, err)
		}
	}
	return req.Store.UnmarkGarbage(req.Key())
}

func snapshot(ctx context.Context, req *module.Request, s *Spec) error {
	if len(s.Mkdirs) == 0 {
		req.Report.Infof("fileset %s has no mutable directories: nothing to snapshot", req.Component.Name)
		return nil
	}
	res, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: "fileset"}, func(d *store.Dump) error {
		w, err := d.Create(payloadName)
		if err != nil {
			return err
		}
		if err := writeTar(w, s.TargetDir, s.Mkdirs); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	})
	if err != nil {
		return fmt.Errorf("snapshot fileset %s: %w", req.Component.Name, err)
	}
	reportCommit(req, res)
	return nil
}

func reportCommit(req *module.Request, res store.Committed) {
	req.Report.Infof("%s", res.Summary())
}

func restore(ctx context.Context, req *module.Request, s *Spec) error {
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("fileset %s has no snapshot to restore", req.Component.Name)
		return nil
	}
	p, err := req.Store.Read(ctx, sn)
	if err != nil {
		return fmt.Errorf("restore fileset %s: %w", req.Component.Name, err)
	}
	if err := os.MkdirAll(s.TargetDir, 0o755); err != nil {
		return fmt.Errorf("restore fileset %s: %w", req.Component.Name, err)
	}
	staging, err := os.MkdirTemp(s.TargetDir, ".dysnomia-restore-")
	if err != nil {
		return fmt.Errorf("restore fileset %s: %w", req.Component.Name, err)
	}
	defer os.RemoveAll(staging)
	r, err := p.Open(payloadName)
	if err != nil {
		return fmt.Errorf("restore fileset %s: %w", req.Component.Name, err)
	}
	err = extractTar(r, staging, s.Mkdirs)
	r.Close()
	if err != nil {
		return fmt.Errorf("restore fileset %s from %s: %w", req.Component.Name, sn.Rel(), err)
	}
	for _, d := range s.Mkdirs {
		if err := os.MkdirAll(filepath.Join(staging, d), 0o755); err != nil {
			return fmt.Errorf("restore fileset %s: %w", req.Component.Name, err)
		}
	}
	for _, d := range roots(s.Mkdirs) {
		if err := s.Owner.chownTree(filepath.Join(staging, d)); err != nil {
			return fmt.Errorf("restore fileset %s: owner %s: %w", req.Component.Name, s.Owner.Spec, err)
		}
	}
	if err := swapIn(staging, s.TargetDir, roots(s.Mkdirs)); err != nil {
		return fmt.Errorf("restore fileset %s: %w", req.Component.Name, err)
	}
	req.Report.Infof("restored fileset %s from %s", req.Component.Name, sn.Rel())
	return nil
}

// swapIn moves each staged directory into place: the old directory is
// renamed into the staging area (and deleted with it), the new one renamed
// over it. Renames within one filesystem are atomic per directory.
func swapIn(staging, target string, dirs []string) error {
	old := filepath.Join(staging, ".old")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	for i, d := range dirs {
		live := filepath.Join(target, d)
		if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
			return err
		}
		aside := filepath.Join(old, fmt.Sprint(i))
		if err := os.Rename(live, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Rename(filepath.Join(staging, d), live); err != nil {
			os.Rename(aside, live) // put the old state back
			return err
		}
	}
	return nil
}
