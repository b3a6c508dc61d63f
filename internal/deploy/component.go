// Package deploy plans and runs activities over sets of components: the
// bulk operations of "dysnomia containers" (deploy, snapshot, restore,
// collect-garbage, run) and, later, "dysnomia system switch".
//
// A deployment compares two states. The declared state is what the
// components path offers (Available): <dir>/<container>/<entry>, each entry
// normally a symlink to a Nix store path. The activated state is what the
// store's activation markers record. Compute turns the difference into a
// Plan of Steps; an Executor runs them through the module Invoker in this
// process, so that a deployment with nothing to do starts no process at all.
//
// Components are keyed the way modules key them in the store: the container
// name and the name of the real component path (the store name without its
// hash). An entry whose link name differs from its target's name is deployed
// under the target's name, with a warning, since that is the name a module
// marks it under.
package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Component is an entry of the components path.
type Component struct {
	store.Key        // container name and component name (of the real path)
	Entry     string // the entry in the components directory, e.g. /etc/dysnomia/components/c/x
	Path      string // the real component path (symlinks resolved); "" if Problem is set
	Problem   error  // why the entry cannot be used, e.g. a dangling symlink
}

// Available lists the components of the components path: for every
// directory (in path order) and every container directory in it (only the
// container named only, when it is not empty), every entry. The first
// directory wins for an entry name that appears in several (as when
// dysnomia looks a component up by name). The result is sorted by key.
//
// Warnings describe entries that are skipped or renamed; they are not
// errors, since the rest of the deployment can go on.
func Available(componentsPath []string, only string) (comps []Component, warnings []string, err error) {
	seen := map[store.Key]string{} // key -> entry that took it
	seenEntry := map[string]bool{} // "<container>/<entry name>"
	for _, dir := range componentsPath {
		containers, err := readDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("components directory %s: %w", dir, err)
		}
		for _, c := range containers {
			if only != "" && c.Name() != only {
				continue
			}
			cdir := filepath.Join(dir, c.Name())
			if !isDir(cdir) {
				continue
			}
			entries, err := readDir(cdir)
			if err != nil {
				return nil, nil, fmt.Errorf("components directory %s: %w", cdir, err)
			}
			for _, e := range entries {
				name := c.Name() + "/" + e.Name()
				if seenEntry[name] {
					continue
				}
				seenEntry[name] = true
				comp := resolve(c.Name(), filepath.Join(cdir, e.Name()))
				if err := comp.Key.Validate(); err != nil {
					warnings = append(warnings, fmt.Sprintf("component entry %s is ignored: %v", strconv.Quote(comp.Entry), err))
					continue
				}
				if comp.Problem == nil && comp.Component != e.Name() {
					warnings = append(warnings, fmt.Sprintf("component entry %s points to %s: it is deployed as %s (name the entry %s to silence this)", comp.Entry, comp.Path, comp.Key, comp.Component))
				}
				if prev, dup := seen[comp.Key]; dup {
					warnings = append(warnings, fmt.Sprintf("component entry %s is ignored: %s already provides %s", comp.Entry, prev, comp.Key))
					continue
				}
				seen[comp.Key] = comp.Entry
				comps = append(comps, comp)
			}
		}
	}
	sortByKey(comps, func(c Component) store.Key { return c.Key })
	return comps, warnings, nil
}

// resolve follows an entry of the components directory to the real
// component path and derives its name.
func resolve(container, entry string) Component {
	c := Component{Key: store.Key{Container: container, Component: filepath.Base(entry)}, Entry: entry}
	real, err := filepath.EvalSymlinks(entry)
	if err != nil {
		// A dangling link still names its target: key it by that name so
		// that an active component is recognised, but refuse to use it.
		if target, lerr := os.Readlink(entry); lerr == nil {
			c.Component = config.NameOf(target)
		}
		c.Problem = fmt.Errorf("component entry %s cannot be resolved: %w", entry, err)
		return c
	}
	abs, err := filepath.Abs(real)
	if err != nil {
		c.Problem = err
		return c
	}
	c.Path = abs
	c.Component = config.NameOf(abs)
	return c
}

// Find looks one component up by its key in the components path, the way
// the bulk operations fall back when an activation marker records no path
// (markers written by upstream Dysnomia are empty).
func Find(componentsPath []string, k store.Key) (string, error) {
	comps, _, err := Available(componentsPath, k.Container)
	if err != nil {
		return "", err
	}
	for _, c := range comps {
		if c.Key == k {
			if c.Problem != nil {
				return "", c.Problem
			}
			return c.Path, nil
		}
	}
	return "", fmt.Errorf("%s is not in the components path %v: %w", k, componentsPath, config.ErrNotFound)
}

// Containers lists the container names of the components path that have
// at least one entry, sorted.
func Containers(comps []Component) []string {
	var out []string
	for i, c := range comps {
		if i == 0 || comps[i-1].Container != c.Container {
			out = append(out, c.Container)
		}
	}
	return out
}

func readDir(dir string) ([]fs.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func sortByKey[T any](xs []T, key func(T) store.Key) {
	sort.SliceStable(xs, func(i, j int) bool {
		a, b := key(xs[i]), key(xs[j])
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		return a.Component < b.Component
	})
}
