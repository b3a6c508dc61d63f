package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One wording per event, whichever command reports it.
func TestDryRunSummary(t *testing.T) {
	for _, tc := range []struct {
		counts           string
		steps, unchanged int
		want             string
	}{
		{"activate 2, deactivate 1", 3, 4, "dry run: would activate 2, deactivate 1; 4 unchanged"},
		{"nothing", 0, 5, "dry run: nothing to do; 5 unchanged"},
		{"activate 0, deactivate 0", 0, 0, "dry run: nothing to do; 0 unchanged"},
	} {
		if got := dryRunSummary(tc.counts, tc.steps, tc.unchanged); got != tc.want {
			t.Errorf("dryRunSummary(%q, %d, %d) = %q, want %q", tc.counts, tc.steps, tc.unchanged, got, tc.want)
		}
	}
}

// snapshots list --check words a damaged snapshot as snapshots check does;
// the upstream tool name keeps upstream's words.
func TestListCheckWording(t *testing.T) {
	s := newSnapStore(t)
	c := s.commit(t, testdb, "1\n")
	file := filepath.Join(s.SnapshotDir(c.Snapshot), "dump.sql.zst")
	data, _ := os.ReadFile(file)
	data[len(data)/2] ^= 0xff
	os.WriteFile(file, data, 0o600)
	check, _, _ := s.run(t, "dysnomia", "snapshots", "check")
	_, list, code := s.run(t, "dysnomia", "snapshots", "list", "--check")
	msg := "checksum mismatch for snapshot " + c.Rel()
	if code != 65 || !strings.Contains(check, msg) || !strings.Contains(list, msg) {
		t.Errorf("check says %q; list --check (exit %d) says %q; want both to say %q", check, code, list, msg)
	}
	_, upstream, code := s.run(t, "dysnomia-snapshots", "--query-all", "--check")
	if code == 0 || !strings.Contains(upstream, "Checksum mismatch detected for snapshot: "+c.Rel()) {
		t.Errorf("--query-all --check: exit %d, %q", code, upstream)
	}
}
