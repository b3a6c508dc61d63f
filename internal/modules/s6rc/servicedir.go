package s6rc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// stage links the component's definitions into serviceDir and adds them to
// the bundle.
func (s *settings) stage() error {
	bundle := filepath.Join(s.ServiceDir, s.Bundle)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		return err
	}
	typ := filepath.Join(bundle, "type")
	if _, err := os.Stat(typ); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(typ, []byte("bundle\n"), 0o644); err != nil {
			return err
		}
	}
	if err := service.LinkInto(s.src, s.ServiceDir, s.Services); err != nil {
		return err
	}
	return s.editBundle(func(names []string) []string {
		for _, n := range s.Services {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		return names
	})
}

// unstage takes the component's definitions out of the bundle and
// serviceDir (links that point elsewhere, to another version, stay).
func (s *settings) unstage() error {
	var mine []string
	for _, n := range s.Services {
		if service.PointsInto(filepath.Join(s.ServiceDir, n), s.src) {
			mine = append(mine, n)
		}
	}
	if err := s.editBundle(func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return slices.Contains(mine, n) })
	}); err != nil {
		return err
	}
	return service.UnlinkFrom(s.src, s.ServiceDir, s.Services)
}

// editBundle rewrites the bundle's contents file (one name a line) with
// edit's result, keeping the order of the names already there.
func (s *settings) editBundle(edit func([]string) []string) error {
	file := filepath.Join(s.ServiceDir, s.Bundle, "contents")
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	out := edit(slices.Clone(names))
	var b bytes.Buffer
	for _, n := range out {
		b.WriteString(n + "\n")
	}
	if b.String() == string(data) {
		return nil
	}
	if _, err := os.Stat(filepath.Dir(file)); errors.Is(err, fs.ErrNotExist) {
		return nil // no bundle: nothing to take out
	}
	return atomicfile.Write(file, b.Bytes(), 0o644)
}
