package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMarkerLifecycle checks upstream's marker semantics, with the fixes:
// deactivating a never-activated component is a no-op, and activating a
// garbage component revives it.
func TestMarkerLifecycle(t *testing.T) {
	s := Open(t.TempDir())
	k := Key{"postgresql-database", "testdb"}
	state := func() (active, garbage bool) {
		t.Helper()
		a, err := s.IsActive(k)
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.IsGarbage(k)
		if err != nil {
			t.Fatal(err)
		}
		return a, g
	}
	step := func(name string, err error, wantActive, wantGarbage bool) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a, g := state(); a != wantActive || g != wantGarbage {
			t.Fatalf("after %s: active=%v garbage=%v, want %v %v", name, a, g, wantActive, wantGarbage)
		}
	}
	step("deactivate of a never-activated component", s.MarkGarbage(k), false, false)
	step("activate", s.MarkActive(k, "/nix/store/abc-testdb"), true, false)
	step("activate again", s.MarkActive(k, "/nix/store/abc-testdb"), true, false)
	step("deactivate", s.MarkGarbage(k), false, true)
	step("deactivate again", s.MarkGarbage(k), false, true)
	step("re-activate a garbage component", s.MarkActive(k, "/nix/store/def-testdb"), true, false)
	step("deactivate", s.MarkGarbage(k), false, true)
	step("unmark garbage", s.UnmarkGarbage(k), false, false)
	step("unmark garbage again", s.UnmarkGarbage(k), false, false)
	step("activate", s.MarkActive(k, "/c"), true, false)
	step("unmark active (stateless deactivate)", s.UnmarkActive(k), false, false)
}

func TestMarkersRecordComponentPaths(t *testing.T) {
	s := Open(t.TempDir())
	for _, m := range []Marker{
		{Key: Key{"b", "x"}, ComponentPath: "/nix/store/1-x"},
		{Key: Key{"a", "z"}, ComponentPath: "/nix/store/2-z"},
		{Key: Key{"a", "y"}, ComponentPath: "/nix/store/3-y"},
	} {
		if err := s.MarkActive(m.Key, m.ComponentPath); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkGarbage(Key{"b", "x"}); err != nil {
		t.Fatal(err)
	}
	// An upstream marker is an empty file.
	if err := os.WriteFile(filepath.Join(s.Dir(), "activated", "a", "legacy"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	act, err := s.Activated()
	if err != nil {
		t.Fatal(err)
	}
	ignoreType := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Type" }, cmp.Ignore())
	want := []Marker{
		{Key: Key{"a", "legacy"}},
		{Key: Key{"a", "y"}, ComponentPath: "/nix/store/3-y"},
		{Key: Key{"a", "z"}, ComponentPath: "/nix/store/2-z"},
	}
	if diff := cmp.Diff(want, act, ignoreType); diff != "" {
		t.Errorf("Activated (-want +got):\n%s", diff)
	}
	garbage, err := s.Garbage()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Marker{{Key: Key{"b", "x"}, ComponentPath: "/nix/store/1-x"}}, garbage, ignoreType); diff != "" {
		t.Errorf("Garbage keeps the component path (-want +got):\n%s", diff)
	}
}

func TestMarkersOfEmptyStore(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "missing"))
	if act, err := s.Activated(); err != nil || len(act) != 0 {
		t.Errorf("Activated of a missing store = %v, %v; want empty", act, err)
	}
	if g, err := s.Garbage(); err != nil || len(g) != 0 {
		t.Errorf("Garbage of a missing store = %v, %v; want empty", g, err)
	}
}

func TestMarkerRejectsUnsafeNames(t *testing.T) {
	s := Open(t.TempDir())
	for _, k := range []Key{{"..", "x"}, {"c", "a/b"}, {"", "x"}, {"c", "."}} {
		if err := s.MarkActive(k, "/x"); err == nil {
			t.Errorf("MarkActive(%v) succeeded", k)
		}
	}
}
