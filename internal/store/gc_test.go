package store

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGC(t *testing.T) {
	// Each case commits the states in order (equal letters are equal
	// content) and then runs gc with keep.
	cases := []struct {
		name      string
		states    string
		keep      int
		wantGens  []string // "N=state" after gc
		wantSnaps []string // states whose snapshot survives
	}{
		{"keep 1 of 3", "abc", 1, []string{"3=c"}, []string{"c"}},
		{"keep 2 of 3", "abc", 2, []string{"2=b", "3=c"}, []string{"b", "c"}},
		{"keep more than there are", "ab", 5, []string{"1=a", "2=b"}, []string{"a", "b"}},
		{"keep 0 removes everything", "abc", 0, []string{}, []string{}},
		{"a kept state referenced twice survives", "aba", 2, []string{"2=b", "3=a"}, []string{"a", "b"}},
		{"an old generation of a kept state goes, the state stays", "aba", 1, []string{"3=a"}, []string{"a"}},
		{"12 generations, numeric not lexicographic", "abcdefghijkl", 3, []string{"10=j", "11=k", "12=l"}, []string{"j", "k", "l"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ids := map[string]string{}
			names := map[string]string{}
			for _, st := range tc.states {
				c := commitText(t, s, testKey, "state "+string(st)+"\n")
				ids[string(st)] = c.ID
				names[c.ID] = string(st)
			}
			if _, err := s.GC(context.Background(), Selection{}, tc.keep); err != nil {
				t.Fatal(err)
			}
			gotGens := []string{}
			gens, _ := s.Generations(testKey)
			for _, g := range gens {
				gotGens = append(gotGens, strconv.Itoa(g.N)+"="+names[g.Snapshot.ID])
			}
			if diff := cmp.Diff(tc.wantGens, gotGens); diff != "" {
				t.Errorf("generations (-want +got):\n%s", diff)
			}
			gotSnaps := []string{}
			for _, id := range entries(t, s.path("snapshots", testKey.Container, testKey.Component)) {
				gotSnaps = append(gotSnaps, names[id])
			}
			sort.Strings(gotSnaps)
			if diff := cmp.Diff(tc.wantSnaps, gotSnaps); diff != "" {
				t.Errorf("snapshots (-want +got):\n%s", diff)
			}
			for _, st := range tc.wantSnaps {
				if err := s.Verify(Snapshot{Key: testKey, ID: ids[st]}); err != nil {
					t.Errorf("surviving snapshot %s: %v", st, err)
				}
			}
			// Records go with their snapshots.
			if got, want := len(entries(t, s.path("checksums", testKey.Container, testKey.Component))), len(tc.wantSnaps); got != want {
				t.Errorf("%d checksum files, want %d", got, want)
			}
			if got, want := len(entries(t, s.path("metadata", testKey.Container, testKey.Component))), len(tc.wantSnaps); got != want {
				t.Errorf("%d metadata files, want %d", got, want)
			}
			if len(tc.wantSnaps) == 0 {
				for _, kind := range []string{"generations", "snapshots", "checksums", "metadata"} {
					if got := entries(t, s.path(kind)); len(got) != 0 {
						t.Errorf("%s/ still holds %v", kind, got)
					}
				}
				// Numbering restarts at 1.
				if c := commitText(t, s, testKey, "fresh\n"); c.Generation != 1 {
					t.Errorf("first generation after gc --keep 0 is %d", c.Generation)
				}
			}
		})
	}
}

func TestGCRemovesOrphansAndLeftovers(t *testing.T) {
	s := newStore(t)
	kept := commitText(t, s, testKey, "kept\n")
	other := Key{"mysql-database", "shop"}
	commitText(t, s, other, "other\n")

	// A complete snapshot no generation points to (a writer died between
	// installing it and linking it), leftovers of interrupted writes, and
	// a work directory of a live process.
	orphan := Snapshot{Key: testKey, ID: "0000000000000000000000000000000000000000000000000000"}
	os.MkdirAll(s.SnapshotDir(orphan), 0o755)
	os.WriteFile(filepath.Join(s.SnapshotDir(orphan), "dump.sql"), []byte("x"), 0o644)
	gone := Snapshot{Key: testKey, ID: "1111111111111111111111111111111111111111111111111111"}
	os.WriteFile(s.checksumFile(gone), []byte("sha256:"+gone.ID), 0o644)
	os.WriteFile(s.metadataFile(gone), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(s.path("checksums", testKey.Container, testKey.Component), ".tmp-x-123"), nil, 0o644)
	os.Symlink("nowhere", filepath.Join(s.path("generations", testKey.Container, testKey.Component), ".tmp-2-99999"))
	dead := s.path("tmp", "commit-"+strconv.Itoa(deadPID(t))+"-123")
	os.MkdirAll(filepath.Join(dead, "payload"), 0o755)
	live, err := s.TempDir("commit")
	if err != nil {
		t.Fatal(err)
	}

	res, err := s.GC(context.Background(), Selection{Container: testKey.Container}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Snapshot{orphan}, res.Snapshots); diff != "" {
		t.Errorf("removed snapshots (-want +got):\n%s", diff)
	}
	wantStrays := []string{
		"tmp/" + filepath.Base(dead),
		"generations/postgresql-database/testdb/.tmp-2-99999",
		"checksums/postgresql-database/testdb/.tmp-x-123",
		"checksums/postgresql-database/testdb/" + gone.ID,
		"metadata/postgresql-database/testdb/" + gone.ID + ".json",
	}
	if diff := cmp.Diff(wantStrays, res.Strays); diff != "" {
		t.Errorf("removed strays (-want +got):\n%s", diff)
	}
	if err := s.Verify(kept.Snapshot); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live work directory was removed: %v", err)
	}
	if got := gensOf(t, s, other); len(got) != 1 {
		t.Errorf("gc of another container touched %s: %v", other, got)
	}
	if r, err := s.Check(context.Background(), Selection{}, nil); err != nil || len(r.Findings) != 0 {
		t.Errorf("check after gc: %+v, %v", r, err)
	}
}

func TestGCRejectsNegativeKeep(t *testing.T) {
	if _, err := newStore(t).GC(context.Background(), Selection{}, -1); err == nil || !strings.Contains(err.Error(), "keep -1") {
		t.Errorf("gc keep -1: %v", err)
	}
}

func TestGCMissingStore(t *testing.T) {
	s := newStore(t)
	res, err := s.GC(context.Background(), Selection{}, 1)
	if err != nil || len(res.Snapshots)+len(res.Generations)+len(res.Strays) != 0 {
		t.Errorf("gc of an empty store: %+v, %v", res, err)
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := child(t, "exit")
	if err := cmd.Run(); err == nil {
		t.Fatal("child role exit did not fail as expected")
	}
	return cmd.Process.Pid
}
