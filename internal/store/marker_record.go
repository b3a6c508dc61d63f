package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RecordActive marks the component active like MarkActive and also records
// the module type of its container, so that bulk deployment can still
// deactivate the component after its container file has disappeared. The
// marker holds the component path on its first line and the type on the
// second; upstream Dysnomia only tests for the marker's existence.
func (s *Store) RecordActive(k Key, componentPath, typ string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if strings.ContainsAny(componentPath+typ, "\n\x00") {
		return fmt.Errorf("mark %s active: component path or type contains a newline", k)
	}
	act := s.path("activated", k.Container, k.Component)
	if err := os.MkdirAll(filepath.Dir(act), 0o755); err != nil {
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
	if old, err := os.ReadFile(act); err == nil && string(old) == want {
		return nil
	}
	if err := writeFileAtomic(act, []byte(want), 0o644); err != nil {
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
