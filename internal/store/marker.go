package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// Marker is an activation or garbage marker. Upstream writes empty marker
// files; we record the real component path in them, so that bulk operations
// can hand modules the component rather than the marker file.
type Marker struct {
	Key
	ComponentPath string // "" for markers written by upstream Dysnomia
	Type          string // module type recorded by RecordActive; "" when unknown
}

// MarkActive records that the component is active: RecordActive without a
// type (a type recorded earlier for the same path is kept).
func (s *Store) MarkActive(k Key, componentPath string) error {
	return s.RecordActive(k, componentPath, "")
}

// RecordActive records that the component is active, with its path and the
// module type of its container, so that bulk deployment can still
// deactivate the component after its container file has disappeared. A
// garbage marker is turned back into an activated marker ("un-garbaging"
// the component). With typ "", a type recorded earlier for the same path is
// kept. Idempotent. The marker holds the component path on its first line
// and the type on the second; upstream Dysnomia only tests for the marker's
// existence.
func (s *Store) RecordActive(k Key, componentPath, typ string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if strings.ContainsAny(componentPath+typ, "\n\x00") {
		return fmt.Errorf("mark %s active: component path or type contains a newline", k)
	}
	act := s.path("activated", k.Container, k.Component)
	if err := s.mkdirAll(filepath.Dir(act)); err != nil {
		return fmt.Errorf("mark %s active: %w", k, err)
	}
	garbage := s.path("garbage", k.Container, k.Component)
	if err := os.Rename(garbage, act); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mark %s active: %w", k, err)
	}
	want := componentPath + "\n"
	if typ != "" {
		want += typ + "\n"
	}
	if old, err := os.ReadFile(act); err == nil {
		if string(old) == want || (typ == "" && parseMarker(old).ComponentPath == componentPath) {
			return nil
		}
	}
	if err := atomicfile.Write(act, []byte(want), FileMode); err != nil {
		return fmt.Errorf("mark %s active: %w", k, err)
	}
	return nil
}

// parseMarker reads a marker's content: the component path on the first
// line and, optionally, the module type on the second. An upstream marker
// is empty.
func parseMarker(data []byte) Marker {
	path, rest, _ := strings.Cut(string(data), "\n")
	typ, _, _ := strings.Cut(rest, "\n")
	return Marker{ComponentPath: strings.TrimSpace(path), Type: strings.TrimSpace(typ)}
}

// UnmarkActive removes the activated marker (stateless modules' deactivate).
func (s *Store) UnmarkActive(k Key) error {
	return removeIfExists(s.path("activated", k.Container, k.Component))
}

// MarkGarbage turns the activated marker into a garbage marker, with what
// it records: the component is deactivated but its state is kept until
// collect-garbage. Deactivating a component that is already garbage, or that
// was never activated, does nothing. A garbage marker left next to an
// activated one (by a module that writes markers its own way) is replaced:
// the activated marker is the later record.
func (s *Store) MarkGarbage(k Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	garbage := s.path("garbage", k.Container, k.Component)
	act := s.path("activated", k.Container, k.Component)
	if _, err := os.Lstat(act); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := s.mkdirAll(filepath.Dir(garbage)); err != nil {
		return fmt.Errorf("mark %s as garbage: %w", k, err)
	}
	if err := os.Rename(act, garbage); err != nil {
		return fmt.Errorf("mark %s as garbage: %w", k, err)
	}
	return nil
}

// RecordGarbage makes an existing garbage marker record the component path
// and module type when it records neither (a module that writes its own,
// empty, garbage marker), or the type alone when it records this path
// without one, so that collect-garbage can find the component and its
// module after the component has left the components path and its container
// file has gone. A marker recording another path is left alone, and so is a
// missing one.
func (s *Store) RecordGarbage(k Key, componentPath, typ string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if strings.ContainsAny(componentPath+typ, "\n\x00") {
		return fmt.Errorf("mark %s as garbage: component path or type contains a newline", k)
	}
	garbage := s.path("garbage", k.Container, k.Component)
	data, err := os.ReadFile(garbage)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark %s as garbage: %w", k, err)
	}
	m := parseMarker(data)
	switch {
	case componentPath == "":
		return nil
	case m.ComponentPath == "":
	case m.ComponentPath == componentPath && m.Type == "" && typ != "":
	default:
		return nil
	}
	want := componentPath + "\n"
	if typ != "" {
		want += typ + "\n"
	}
	if err := atomicfile.Write(garbage, []byte(want), FileMode); err != nil {
		return fmt.Errorf("mark %s as garbage: %w", k, err)
	}
	return nil
}

// UnmarkGarbage removes the garbage marker (after collect-garbage).
func (s *Store) UnmarkGarbage(k Key) error {
	return removeIfExists(s.path("garbage", k.Container, k.Component))
}

// IsActive reports whether the activated marker exists.
func (s *Store) IsActive(k Key) (bool, error) {
	return exists(s.path("activated", k.Container, k.Component))
}

// IsGarbage reports whether the garbage marker exists.
func (s *Store) IsGarbage(k Key) (bool, error) {
	return exists(s.path("garbage", k.Container, k.Component))
}

// Activated lists the activated markers, sorted by container and component.
// A missing directory is an empty list.
func (s *Store) Activated() ([]Marker, error) { return s.markers("activated") }

// Garbage lists the garbage markers, sorted.
func (s *Store) Garbage() ([]Marker, error) { return s.markers("garbage") }

func (s *Store) markers(kind string) ([]Marker, error) {
	var out []Marker
	containers, err := readDirNames(s.path(kind))
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		comps, err := readDirNames(s.path(kind, c))
		if err != nil {
			return nil, err
		}
		for _, comp := range comps {
			if strings.HasPrefix(comp, atomicfile.TempPrefix) {
				continue // a marker write interrupted by a crash
			}
			data, err := os.ReadFile(s.path(kind, c, comp))
			if err != nil {
				return nil, err
			}
			m := parseMarker(data)
			m.Key = Key{c, comp}
			out = append(out, m)
		}
	}
	return out, nil
}

// readDirNames lists a directory's entries sorted byte-wise; a missing or
// non-directory path gives an empty list.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
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

func exists(p string) (bool, error) {
	_, err := os.Lstat(p)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
