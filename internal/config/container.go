package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/dysnomia-go/dysnomia/internal/name"
)

// Container is a parsed container file: a name, a module type and the
// properties handed to the module.
type Container struct {
	Name       string     // the file name, without a store hash
	File       string     // where it was read from; "" when built in memory
	Type       string     // the type= line; "" when the file has none
	Properties Properties // every other line, in file order
}

// LoadContainer parses a container file.
func LoadContainer(path string, mode ShellMode) (*Container, error) {
	props, err := ParseFile(path, mode)
	if err != nil {
		return nil, fmt.Errorf("read container file: %w", err)
	}
	return &Container{
		Name:       NameOf(path),
		File:       path,
		Type:       props.Lookup("type"),
		Properties: props.Without("type"),
	}, nil
}

// ErrNotFound reports a name that is in none of the search directories.
var ErrNotFound = errors.New("not found")

// FindContainer returns the first regular file dir/name over dirs.
func FindContainer(name string, dirs []string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no container configuration %q in %s: %w", name, listOrNone(dirs), ErrNotFound)
}

// FindComponent returns the first existing dir/container/name over dirs,
// with symlinks resolved.
func FindComponent(container, name string, dirs []string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, container, name)
		if _, err := os.Stat(p); err == nil {
			return filepath.EvalSymlinks(p)
		}
	}
	return "", fmt.Errorf("no component configuration %q for container %q in %s: %w", name, container, listOrNone(dirs), ErrNotFound)
}

// Canonical makes a command-line path absolute and resolves its symlinks.
// Like upstream, it does not require the path to exist: the part that does
// not exist is kept as written.
func Canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, base := filepath.Split(abs)
	if dir == abs || dir == "" {
		return abs, nil
	}
	parent, err := Canonical(filepath.Clean(dir))
	if err != nil {
		return abs, nil
	}
	return filepath.Join(parent, base), nil
}

// ContainerNames lists the container file names over dirs, first directory
// winning for duplicates, sorted byte-wise.
func ContainerNames(dirs []string) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			// A file whose name is not a valid container name cannot be
			// selected or deployed; it is left out of the listing.
			if seen[e.Name()] || name.Check(e.Name()) != nil || !isRegular(filepath.Join(d, e.Name())) {
				continue
			}
			seen[e.Name()] = true
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func listOrNone(dirs []string) string {
	if len(dirs) == 0 {
		return "(no directories)"
	}
	return fmt.Sprint(dirs)
}
