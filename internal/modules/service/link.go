package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Entries lists the names in dir, sorted; a missing dir has none.
func Entries(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// LinkInto makes target/<name> a symlink to src/<name> for each name,
// creating target first. An existing symlink is replaced atomically; any
// other file in the way is an error (before anything is changed).
func LinkInto(src, target string, names []string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		p := filepath.Join(target, n)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s exists and is not a symlink; refusing to replace it", p)
		}
	}
	for _, n := range names {
		if err := Symlink(filepath.Join(src, n), filepath.Join(target, n)); err != nil {
			return err
		}
	}
	return nil
}

// Symlink makes link point to dest, replacing an existing symlink
// atomically.
func Symlink(dest, link string) error {
	tmp := link + ".dysnomia-new"
	os.Remove(tmp)
	if err := os.Symlink(dest, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// PointsInto reports whether link is a symlink whose target lies in dir
// (so it was made for this component, not for another version of it).
func PointsInto(link, dir string) bool {
	dest, err := os.Readlink(link)
	if err != nil {
		return false
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(link), dest)
	}
	dest = filepath.Clean(dest)
	dir = filepath.Clean(dir)
	return dest == dir || strings.HasPrefix(dest, dir+"/")
}

// UnlinkFrom removes target/<name> for each name where it is a symlink into
// src. A link that now points elsewhere (another version of the component
// took the name) is left alone.
func UnlinkFrom(src, target string, names []string) error {
	var errs []error
	for _, n := range names {
		p := filepath.Join(target, n)
		if !PointsInto(p, src) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
