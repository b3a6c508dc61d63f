package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// R2: one flipped byte makes check fail naming that snapshot and every
// other bad one; Read (what restore uses) refuses it.
func TestCheckReportsEveryProblem(t *testing.T) {
	s := newStore(t)
	a := commitText(t, s, testKey, strings.Repeat("a\n", 1000))
	b := commitText(t, s, testKey, strings.Repeat("b\n", 1000))
	c := commitText(t, s, testKey, strings.Repeat("c\n", 1000))
	other := Key{"mysql-database", "shop"}
	d := commitText(t, s, other, strings.Repeat("d\n", 1000))
	fine := commitText(t, s, Key{"mysql-database", "fine"}, "fine\n")

	if r, err := s.Check(context.Background(), Selection{}, nil); err != nil || r.Err() != nil || r.Checked != 5 {
		t.Fatalf("check of an intact store: %+v, %v", r, err)
	}

	flipByte(t, filepath.Join(s.SnapshotDir(a.Snapshot), "dump.sql.zst"))
	flipByte(t, filepath.Join(s.SnapshotDir(d.Snapshot), "dump.sql.zst"))
	os.RemoveAll(s.SnapshotDir(b.Snapshot)) // generation 2 now dangles

	r, err := s.Check(context.Background(), Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Kind     Kind
		Snapshot string
	}
	var got []brief
	for _, f := range r.Problems() {
		got = append(got, brief{f.Kind, f.Snapshot})
	}
	want := []brief{
		{KindDangling, b.Rel()},
		{KindMismatch, a.Rel()},
		{KindMismatch, d.Rel()},
	}
	sortBriefs := func(bs []brief) {
		for i := 1; i < len(bs); i++ {
			for j := i; j > 0 && bs[j].Snapshot < bs[j-1].Snapshot; j-- {
				bs[j], bs[j-1] = bs[j-1], bs[j]
			}
		}
	}
	sortBriefs(got)
	sortBriefs(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	err = r.Err()
	var ie *IntegrityError
	if !errors.As(err, &ie) || len(ie.Problems) != 3 {
		t.Fatalf("Err() = %v", err)
	}
	for _, sn := range []Snapshot{a.Snapshot, b.Snapshot, d.Snapshot} {
		if !strings.Contains(err.Error(), sn.Rel()) {
			t.Errorf("%q does not name %s", err, sn.Rel())
		}
	}
	if strings.Contains(err.Error(), c.Rel()) || strings.Contains(err.Error(), fine.Rel()) {
		t.Errorf("%q names an intact snapshot", err)
	}
	for _, f := range r.Problems() {
		if f.Kind == KindMismatch && (f.Have == "" || f.Want == "" || f.Have == f.Want) {
			t.Errorf("mismatch finding without both checksums: %+v", f)
		}
	}

	// Restore reads through Read: refused, for the damaged and the missing.
	for _, sn := range []Snapshot{a.Snapshot, b.Snapshot, d.Snapshot} {
		if _, err := s.Read(context.Background(), sn); !isIntegrity(err) {
			t.Errorf("Read(%s) = %v, want an integrity error", sn.Rel(), err)
		}
	}
	if got := readText(t, s, c.Snapshot); got != strings.Repeat("c\n", 1000) {
		t.Errorf("intact snapshot reads %q", got[:10])
	}

	// A selection checks only what it selects.
	r, _ = s.Check(context.Background(), Selection{Container: "mysql-database", Component: "fine"}, nil)
	if r.Checked != 1 || r.Err() != nil {
		t.Errorf("check of mysql-database/fine: %+v", r)
	}
}

func TestCheckNotesAndRepair(t *testing.T) {
	s := newStore(t)
	a := commitText(t, s, testKey, "a\n")
	b := commitText(t, s, testKey, "b\n")
	os.RemoveAll(s.SnapshotDir(a.Snapshot)) // generation 1 dangles; its records remain
	stray := filepath.Join(s.path("metadata", testKey.Container, testKey.Component), ".tmp-x.json-1")
	os.WriteFile(stray, nil, 0o644)
	// An upstream snapshot without a checksum: a warning only.
	up := Snapshot{Key: testKey, ID: strings.Repeat("ab", 32)}
	os.MkdirAll(s.SnapshotDir(up), 0o755)
	os.WriteFile(filepath.Join(s.SnapshotDir(up), "dump.sql.xz"), []byte("x"), 0o644)

	r, err := s.Check(context.Background(), Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for _, f := range r.Findings {
		kinds[f.Kind]++
	}
	// The upstream snapshot and the stray were written 0755/0644: the
	// whole store is one permissions finding.
	want := map[Kind]int{KindDangling: 1, KindStray: 1, KindNoChecksum: 1, KindOrphan: 1, KindPermissions: 1}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("findings (-want +got):\n%s\n%+v", diff, r.Findings)
	}
	// The dangling generation's records are kept while it references them.

	res, err := s.Repair(context.Background(), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 4 {
		t.Errorf("repair removed %v, want the dangling link, the stray, and the records of the missing snapshot", res.Removed)
	}
	if res.Tightened != 2 { // the upstream snapshot's directory and file; the stray is gone
		t.Errorf("repair made %d entries private, want 2", res.Tightened)
	}
	r, _ = s.Check(context.Background(), Selection{}, nil)
	if r.Err() != nil {
		t.Errorf("check after repair: %v", r.Err())
	}
	if diff := cmp.Diff([]string{"2=" + b.ID}, gensOf(t, s, testKey)); diff != "" {
		t.Errorf("generations after repair (-want +got):\n%s", diff)
	}
	if res, _ = s.Repair(context.Background(), Selection{}); len(res.Removed) != 0 {
		t.Errorf("second repair removed %v", res.Removed)
	}
}
