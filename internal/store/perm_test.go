package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// modes lists every entry under dir that is not a symlink, with its mode.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fi.Mode().Perm()
		return nil
	})
	return out
}

// Whatever the umask, everything the store writes is private: snapshots,
// generations, checksums, metadata, markers, the lock, the state directory.
func TestStoreIsPrivateWhateverTheUmask(t *testing.T) {
	for _, umask := range []int{0o000, 0o022, 0o002} {
		old := syscall.Umask(umask)
		s := newStore(t)
		commitText(t, s, testKey, "a\n")
		commitText(t, s, testKey, "b\n")
		if err := s.MarkActive(Key{Container: "c", Component: "x"}, "/nix/store/x"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkGarbage(Key{Container: "c", Component: "x"}); err != nil {
			t.Fatal(err)
		}
		syscall.Umask(old)
		for rel, m := range modes(t, s.Dir()) {
			fi, _ := os.Stat(filepath.Join(s.Dir(), rel))
			want := FileMode
			if fi.IsDir() {
				want = DirMode
			}
			if m != want {
				t.Errorf("umask %03o: %s has mode %04o, want %04o", umask, rel, m, want)
			}
		}
		r, err := s.Check(context.Background(), Selection{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Findings) != 0 {
			t.Errorf("umask %03o: check found %+v", umask, r.Findings)
		}
	}
}

// A store made readable (by an earlier version, upstream, or a chmod) is
// reported, for the whole store and for a selection, and repair makes it
// private without changing any snapshot's checksum.
func TestCheckReportsAndRepairTightensModes(t *testing.T) {
	s := newStore(t)
	c := commitText(t, s, testKey, "a\n")
	other := Key{Container: "mysql-database", Component: "shop"}
	commitText(t, s, other, "shop\n")
	for _, p := range []string{s.Dir(), s.SnapshotDir(c.Snapshot), filepath.Join(s.SnapshotDir(c.Snapshot), "dump.sql.zst"), s.checksumFile(c.Snapshot)} {
		fi, _ := os.Stat(p)
		mode := fs.FileMode(0o644)
		if fi.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	kinds := func(sel Selection) []string {
		r, err := s.Check(context.Background(), sel, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range r.Findings {
			out = append(out, string(f.Kind)+" "+f.Path)
		}
		if r.Err() != nil {
			t.Errorf("loose modes are a warning, not damage: %v", r.Err())
		}
		return out
	}
	if diff := cmp.Diff([]string{"permissions ."}, kinds(Selection{})); diff != "" {
		t.Errorf("whole store (-want +got):\n%s", diff)
	}
	want := []string{"permissions .", "permissions snapshots/postgresql-database/testdb", "permissions checksums/postgresql-database/testdb"}
	if diff := cmp.Diff(want, kinds(Selection{Container: testKey.Container, Component: testKey.Component})); diff != "" {
		t.Errorf("selection (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"permissions ."}, kinds(Selection{Container: other.Container})); diff != "" {
		t.Errorf("the other component's selection (-want +got):\n%s", diff)
	}
	res, err := s.Repair(context.Background(), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tightened != 4 {
		t.Errorf("repair tightened %d entries, want 4", res.Tightened)
	}
	if got := kinds(Selection{}); len(got) != 0 {
		t.Errorf("after repair: %v", got)
	}
	if err := s.Verify(c.Snapshot); err != nil {
		t.Errorf("after repair: %v", err)
	}
}
