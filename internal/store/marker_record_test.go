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

// TestRecordGarbage: an empty garbage marker (written by a module itself)
// gets the path and type; a marker recording a path keeps it; a missing
// marker is not created; markers written by upstream stay readable.
func TestRecordGarbage(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	k := Key{"rw", "x"}
	write := func(content string) {
		t.Helper()
		p := filepath.Join(dir, "garbage", "rw", "x")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, before, path, typ string
		want                    []Marker
	}{
		{"empty marker", "", "/s/a-x", "rec", []Marker{{Key: k, ComponentPath: "/s/a-x", Type: "rec"}}},
		{"path without type", "/s/a-x\n", "/s/a-x", "rec", []Marker{{Key: k, ComponentPath: "/s/a-x", Type: "rec"}}},
		{"another path is kept", "/s/b-x\nold\n", "/s/a-x", "rec", []Marker{{Key: k, ComponentPath: "/s/b-x", Type: "old"}}},
		{"type is kept", "/s/a-x\nold\n", "/s/a-x", "rec", []Marker{{Key: k, ComponentPath: "/s/a-x", Type: "old"}}},
		{"no path to record", "", "", "rec", []Marker{{Key: k}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			write(tc.before)
			if err := s.RecordGarbage(k, tc.path, tc.typ); err != nil {
				t.Fatal(err)
			}
			got, err := s.Garbage()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("garbage (-want +got):\n%s", d)
			}
		})
	}
	if err := s.UnmarkGarbage(k); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordGarbage(k, "/s/a-x", "rec"); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Garbage(); len(g) != 0 {
		t.Errorf("RecordGarbage created a marker: %+v", g)
	}
}

// TestMarkGarbageReplacesStaleMarker: an activated marker next to a stale
// garbage marker is the later record; marking garbage keeps it.
func TestMarkGarbageReplacesStaleMarker(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	k := Key{"fileset", "web"}
	if err := s.RecordActive(k, "/nix/store/x-web", "fileset"); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "garbage", "fileset", "web")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkGarbage(k); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Garbage()
	if d := cmp.Diff([]Marker{{Key: k, ComponentPath: "/nix/store/x-web", Type: "fileset"}}, got); d != "" {
		t.Errorf("garbage (-want +got):\n%s", d)
	}
	if act, _ := s.Activated(); len(act) != 0 {
		t.Errorf("still activated: %+v", act)
	}
	// A second deactivation changes nothing.
	if err := s.MarkGarbage(k); err != nil {
		t.Fatal(err)
	}
	if got2, _ := s.Garbage(); !cmp.Equal(got, got2) {
		t.Errorf("second MarkGarbage changed the marker: %+v", got2)
	}
}
