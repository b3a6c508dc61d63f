package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecordActiveKeepsPathAndType(t *testing.T) {
	s := Open(t.TempDir())
	k := Key{"fileset", "web"}
	if err := s.RecordActive(k, "/nix/store/x-web", "fileset"); err != nil {
		t.Fatal(err)
	}
	// A module re-activating the same path must not lose the type.
	if err := s.MarkActive(k, "/nix/store/x-web"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Activated()
	if err != nil {
		t.Fatal(err)
	}
	want := []Marker{{Key: k, ComponentPath: "/nix/store/x-web", Type: "fileset"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("activated (-want +got):\n%s", d)
	}
	if err := s.MarkGarbage(k); err != nil {
		t.Fatal(err)
	}
	got, err = s.Garbage()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("garbage (-want +got):\n%s", d)
	}
	// A new path from a module replaces the record.
	if err := s.MarkActive(k, "/nix/store/y-web"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Activated()
	if d := cmp.Diff([]Marker{{Key: k, ComponentPath: "/nix/store/y-web"}}, got); d != "" {
		t.Errorf("after upgrade (-want +got):\n%s", d)
	}
}

func TestUpstreamEmptyMarker(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	p := filepath.Join(dir, "activated", "postgresql-database", "testdb")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := s.Activated()
	if err != nil {
		t.Fatal(err)
	}
	want := []Marker{{Key: Key{"postgresql-database", "testdb"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := s.RecordActive(Key{"c", "x"}, "/a\nb", ""); err == nil {
		t.Error("RecordActive accepted a path with a newline")
	}
}

// TestInterruptedMarkerWriteIsNoMarker: the temporary file of a marker write
// that a crash interrupted is not a component.
func TestInterruptedMarkerWriteIsNoMarker(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RecordActive(Key{"c", "web"}, "/nix/store/x-web", "fileset"))
	must(os.WriteFile(filepath.Join(dir, "activated", "c", ".tmp-web-123"), []byte("/nix/store/x-w"), 0o644))
	got, err := s.Activated()
	must(err)
	if len(got) != 1 || got[0].Component != "web" {
		t.Errorf("activated = %+v, want only c/web", got)
	}
}
