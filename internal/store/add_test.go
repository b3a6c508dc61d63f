package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdd(t *testing.T) {
	s := newStore(t)
	k := Key{"mysql-container", "testdb"}
	ctx := context.Background()

	// An upstream-style snapshot directory from elsewhere (how Disnix
	// hands snapshots over): moved in under its name.
	src := filepath.Join(t.TempDir(), strings.Repeat("ab", 32))
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "dump.sql"), []byte("Three\n"), 0o644)
	a, err := s.Add(ctx, k, src)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != Installed || a.Generation != 1 || !a.NewGeneration || a.ID != filepath.Base(src) {
		t.Errorf("add = %+v", a)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("source still there after add: %v", err)
	}
	if got := readText(t, s, a.Snapshot); got != "Three\n" {
		t.Errorf("added snapshot reads %q", got)
	}
	if sum, ok, _ := s.Checksum(a.Snapshot); !ok || ValidChecksum(sum) != nil {
		t.Errorf("added snapshot has checksum %q, %v", sum, ok)
	}

	// The same content again under the same name: success, nothing new.
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "dump.sql"), []byte("Three\n"), 0o644)
	if a, err := s.Add(ctx, k, src); err != nil || a.Status != Present || a.NewGeneration {
		t.Errorf("identical re-add = %+v, %v", a, err)
	}

	// Different content under the same name: refused, store unchanged.
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "dump.sql"), []byte("Four\n"), 0o644)
	if _, err := s.Add(ctx, k, src); err == nil || !strings.Contains(err.Error(), "different snapshot") {
		t.Errorf("conflicting add: %v", err)
	}
	if got := readText(t, s, a.Snapshot); got != "Three\n" {
		t.Errorf("after a refused add the snapshot reads %q", got)
	}
	os.RemoveAll(src)

	// A second state, then the first one's in-store path: the older state
	// becomes the latest again (Disnix reorders generations this way).
	c := commitText(t, s, k, "Four\n")
	back, err := s.Add(ctx, k, s.SnapshotDir(a.Snapshot))
	if err != nil || !back.InStore || back.Generation != 3 || !back.NewGeneration {
		t.Errorf("add of an in-store path = %+v, %v", back, err)
	}
	if again, err := s.Add(ctx, k, s.SnapshotDir(a.Snapshot)); err != nil || again.NewGeneration {
		t.Errorf("add of the latest in-store path = %+v, %v", again, err)
	}
	if latest, _, _ := s.Latest(k); latest != a.Snapshot {
		t.Errorf("latest = %s, want %s", latest.Rel(), a.Rel())
	}

	// A path elsewhere inside the state directory is refused.
	if _, err := s.Add(ctx, Key{"other", "testdb"}, s.SnapshotDir(c.Snapshot)); err == nil || !strings.Contains(err.Error(), "inside the state directory") {
		t.Errorf("add of another component's snapshot: %v", err)
	}
	// A sibling directory whose name merely starts with the state
	// directory's is outside (path-boundary check, upstream defect #10).
	sibling := filepath.Join(s.Dir()+"-x", "snap1")
	os.MkdirAll(sibling, 0o755)
	os.WriteFile(filepath.Join(sibling, "dump.sql"), []byte("x\n"), 0o644)
	if a, err := s.Add(ctx, k, sibling); err != nil || a.Status != Installed {
		t.Errorf("add from %s: %+v, %v", sibling, a, err)
	}

	// A name that claims to be a NAR hash must be one.
	fake := filepath.Join(t.TempDir(), c.ID)
	os.Mkdir(fake, 0o755)
	os.WriteFile(filepath.Join(fake, "dump.sql.zst"), []byte("not it"), 0o644)
	if _, err := s.Add(ctx, Key{"x", "y"}, fake); !isIntegrity(err) {
		t.Errorf("add of a directory not matching its NAR-hash name: %v", err)
	}
	if _, err := os.Stat(fake); err != nil {
		t.Errorf("a refused source was removed: %v", err)
	}

	// A damaged in-store snapshot gets no new generation.
	flipByte(t, filepath.Join(s.SnapshotDir(c.Snapshot), "dump.sql.zst"))
	if _, err := s.Add(ctx, k, s.SnapshotDir(c.Snapshot)); !isIntegrity(err) {
		t.Errorf("add of a damaged in-store snapshot: %v", err)
	}

	// Symlinks that would lead out of the snapshot are refused.
	out := filepath.Join(t.TempDir(), "withlink")
	os.Mkdir(out, 0o755)
	os.Symlink("/etc/passwd", filepath.Join(out, "dump.sql"))
	if _, err := s.Add(ctx, Key{"x", "z"}, out); err == nil || !strings.Contains(err.Error(), "leaves the snapshot") {
		t.Errorf("add with a symlink out: %v", err)
	}
	for _, kind := range []string{"snapshots", "generations"} {
		if got := entries(t, s.path(kind, "x")); len(got) != 0 {
			t.Errorf("refused adds left %s/x/%v", kind, got)
		}
	}
}

func TestCheckLinkTarget(t *testing.T) {
	for target, ok := range map[string]bool{
		"dump.sql": true, "sub/dump.sql": true, "./dump.sql": true,
		"": false, "/etc/passwd": false, "../x": false, "sub/../../x": false, "sub/../x": false, "..": false,
	} {
		if err := CheckLinkTarget(target); (err == nil) != ok {
			t.Errorf("CheckLinkTarget(%q) = %v, want ok=%v", target, err, ok)
		}
	}
}
