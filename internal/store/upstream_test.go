package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"
)

// upstreamSnapshot writes a snapshot the way upstream's mysql-database
// module does: snapshots/<c>/<comp>/<id>/dump.sql.xz with id the hex sha256
// of the xz file, and checksums/<c>/<comp>/<id> holding "sha256:<hex>" of
// ".\n./dump.sql.xz\n\n" followed by the file's bytes (no newline).
func upstreamSnapshot(t testing.TB, s *Store, k Key, text string) Snapshot {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	w.Close()
	file := sha256.Sum256(buf.Bytes())
	sn := Snapshot{Key: k, ID: hex.EncodeToString(file[:])}
	dir := s.SnapshotDir(sn)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dump.sql.xz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	stream := sha256.Sum256(append([]byte(".\n./dump.sql.xz\n\n"), buf.Bytes()...))
	os.MkdirAll(filepath.Dir(s.checksumFile(sn)), 0o755)
	if err := os.WriteFile(s.checksumFile(sn), []byte("sha256:"+hex.EncodeToString(stream[:])), 0o644); err != nil {
		t.Fatal(err)
	}
	return sn
}

// upstreamGeneration links generation n as upstream does.
func upstreamGeneration(t testing.TB, s *Store, n int, sn Snapshot) {
	t.Helper()
	dir := s.path("generations", sn.Container, sn.Component)
	os.MkdirAll(dir, 0o755)
	if err := os.Symlink("../../../snapshots/"+sn.Rel(), filepath.Join(dir, strconv.Itoa(n))); err != nil {
		t.Fatal(err)
	}
}

func TestUpstreamStore(t *testing.T) {
	s := newStore(t)
	k := Key{"mysql-container", "testdb"}
	var snaps []Snapshot
	for n := 1; n <= 12; n++ { // 10, 11 and 12 sort before 2 as strings
		sn := upstreamSnapshot(t, s, k, "state "+strconv.Itoa(n)+"\n")
		upstreamGeneration(t, s, n, sn)
		snaps = append(snaps, sn)
	}

	gens, err := s.Generations(k)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	for _, g := range gens {
		order = append(order, g.N)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, order); diff != "" {
		t.Errorf("generation order (-want +got):\n%s", diff)
	}
	latest, ok, err := s.Latest(k)
	if err != nil || !ok || latest != snaps[11] {
		t.Fatalf("latest = %v, %v, %v; want %s", latest, ok, err, snaps[11].Rel())
	}
	if got := readText(t, s, latest); got != "state 12\n" {
		t.Errorf("latest reads %q", got)
	}
	r, err := s.Check(context.Background(), Selection{}, nil)
	if err != nil || r.Checked != 12 || len(r.Problems()) != 0 {
		t.Fatalf("check of the upstream store: %+v, %v", r, err)
	}
	// Upstream writes 0755/0644: one warning, which repair clears.
	if len(r.Findings) != 1 || r.Findings[0].Kind != KindPermissions {
		t.Fatalf("check of the upstream store: findings %+v, want one permissions warning", r.Findings)
	}
	if _, err := s.Repair(context.Background(), Selection{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Check(context.Background(), Selection{}, nil); len(r.Findings) != 0 {
		t.Fatalf("after repair: %+v", r.Findings)
	}

	flipByte(t, filepath.Join(s.SnapshotDir(snaps[4]), "dump.sql.xz"))
	r, _ = s.Check(context.Background(), Selection{}, nil)
	probs := r.Problems()
	if len(probs) != 1 || probs[0].Snapshot != snaps[4].Rel() || probs[0].Kind != KindMismatch || len(probs[0].Want) != len("sha256:")+64 {
		t.Errorf("after damaging generation 5: %+v", probs)
	}
	if _, err := s.Read(context.Background(), snaps[4]); !isIntegrity(err) {
		t.Errorf("Read of the damaged upstream snapshot: %v", err)
	}

	res, err := s.GC(context.Background(), Selection{Container: "mysql-container", Component: "testdb"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Generations) != 11 || len(res.Snapshots) != 11 {
		t.Errorf("gc removed %d generations and %d snapshots, want 11 and 11", len(res.Generations), len(res.Snapshots))
	}
	if diff := cmp.Diff([]string{"12=" + snaps[11].ID}, gensOf(t, s, k)); diff != "" {
		t.Errorf("after gc (-want +got):\n%s", diff)
	}
	if got := entries(t, s.path("checksums", k.Container, k.Component)); len(got) != 1 || got[0] != snaps[11].ID {
		t.Errorf("checksums after gc: %v", got)
	}

	// Our snapshots continue upstream's numbering.
	c := commitText(t, s, k, "state 13\n")
	if c.Generation != 13 {
		t.Errorf("new snapshot became generation %d, want 13", c.Generation)
	}
	r, _ = s.Check(context.Background(), Selection{}, nil)
	if r.Checked != 2 || len(r.Findings) != 0 {
		t.Errorf("check of the mixed store: %+v", r)
	}
}

// upstreamHash over a tree: the sorted path list, an empty line, then every
// regular file's bytes in the same order.
func TestUpstreamHashOfTree(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.json"), []byte("B"), 0o644)
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "z.bson"), []byte("Z"), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "y.bson"), []byte("Y"), 0o644)
	stream := ".\n./a\n./a/y.bson\n./a/z.bson\n./b.json\n\nYZB"
	sum := sha256.Sum256([]byte(stream))
	want := "sha256:" + hex.EncodeToString(sum[:])
	got, err := upstreamHash(dir)
	if err != nil || got != want {
		t.Errorf("upstreamHash = %s, %v; want %s", got, err, want)
	}
	// A single-file snapshot: its bytes.
	sum = sha256.Sum256([]byte("B"))
	if got, _ := upstreamHash(filepath.Join(dir, "b.json")); got != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("upstreamHash of a file = %s", got)
	}
	if strings.Count(stream, "\n\n") != 1 {
		t.Fatal("bad test stream")
	}
}
