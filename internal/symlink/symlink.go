// Package symlink places and removes the symbolic links that stateless
// modules deploy (web applications, servlet archives): a link is replaced
// atomically, only ever over another link, and removed only when it still
// points where its owner put it.
package symlink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Set makes link point to target. An existing symlink is replaced
// atomically (a rename over it); anything else at link is an error, and
// is left alone. It returns the target the link had before ("" when there
// was none), so that a caller can undo it with Restore.
func Set(link, target string) (prev string, err error) {
	fi, err := os.Lstat(link)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink == 0:
		return "", fmt.Errorf("%s exists and is not a symlink; refusing to replace it", link)
	case err == nil:
		if prev, err = os.Readlink(link); err != nil {
			return "", err
		}
		if prev == target {
			return prev, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	tmp := filepath.Join(filepath.Dir(link), ".dysnomia-new-"+filepath.Base(link))
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return prev, nil
}

// Restore undoes Set: it points link back at prev, or removes it when prev
// is "", provided it still points at target.
func Restore(link, target, prev string) error {
	if prev == target {
		return nil
	}
	if prev == "" {
		_, err := RemoveIf(link, func(t string) bool { return t == target })
		return err
	}
	if cur, err := os.Readlink(link); err != nil || cur != target {
		return err
	}
	_, err := Set(link, prev)
	return err
}

// RemoveIf removes link when it is a symlink whose target satisfies own.
// A missing link, or one that is not a symlink or points elsewhere, is
// left alone. removed says whether it was removed.
func RemoveIf(link string, own func(target string) bool) (removed bool, err error) {
	fi, err := os.Lstat(link)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return false, nil
	}
	t, err := os.Readlink(link)
	if err != nil {
		return false, err
	}
	if !own(t) {
		return false, nil
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// Within reports whether target lies inside dir (an absolute, clean path).
func Within(dir string) func(target string) bool {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	return func(target string) bool {
		return strings.HasPrefix(filepath.Clean(target), prefix)
	}
}

// RemoveInto removes every symlink directly in dir whose target lies
// inside owner (a component path), and returns the names removed, sorted.
// A missing dir has none.
func RemoveInto(dir, owner string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	inside := Within(owner)
	var removed []string
	var errs []error
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		ok, err := RemoveIf(filepath.Join(dir, e.Name()), inside)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, e.Name())
		}
	}
	return removed, errors.Join(errs...)
}
