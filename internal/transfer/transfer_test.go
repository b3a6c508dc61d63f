package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

var (
	pg    = store.Key{Container: "postgresql-database", Component: "testdb"}
	mysql = store.Key{Container: "mysql-container", Component: "shop"}
)

func TestRoundTrip(t *testing.T) {
	a, b := newStore(t), newStore(t)
	h := commitText(t, a, pg, "Hello\n")
	by := commitText(t, a, pg, "Hello\nBye\n")
	commitText(t, a, pg, "Hello\n") // generation 3 is the first state again
	m := commitText(t, a, mysql, "shop\n")
	up := upstreamSnapshot(t, a, mysql, "legacy\n") // an upstream snapshot: hex id and checksum
	os.Symlink("../../../snapshots/"+up.Rel(), filepath.Join(a.Dir(), "generations", mysql.Container, mysql.Component, "2"))

	stream := exportAll(t, a)
	res, err := Import(context.Background(), b, bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.Status{}
	for _, sn := range res.Snapshots {
		got[sn.Rel()] = sn.Status
	}
	want := map[string]store.Status{h.Rel(): store.Installed, by.Rel(): store.Installed, m.Rel(): store.Installed, up.Rel(): store.Installed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imported (-want +got):\n%s", diff)
	}
	for _, k := range []store.Key{pg, mysql} {
		ga, _ := a.Generations(k)
		gb, _ := b.Generations(k)
		if diff := cmp.Diff(ga, gb); diff != "" {
			t.Errorf("generations of %s differ (-sender +receiver):\n%s", k, diff)
		}
	}
	if got := readText(t, b, by.Snapshot); got != "Hello\nBye\n" {
		t.Errorf("imported snapshot reads %q", got)
	}
	if got := readText(t, b, up); got != "legacy\n" {
		t.Errorf("imported upstream snapshot reads %q", got)
	}
	if sum, _, _ := b.Checksum(up); len(sum) != len("sha256:")+64 {
		t.Errorf("upstream checksum not carried over: %q", sum)
	}
	if md, err := b.Metadata(h.Snapshot); err != nil || md == nil || md.Module != "test" {
		t.Errorf("metadata not carried over: %+v, %v", md, err)
	}
	if r, _ := b.Check(context.Background(), store.Selection{}, nil); len(r.Findings) != 0 {
		t.Errorf("check of the receiver: %+v", r.Findings)
	}

	// Importing again changes nothing.
	res, err = Import(context.Background(), b, bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range res.Snapshots {
		if sn.Status != store.Present {
			t.Errorf("re-import: %s %v", sn.Rel(), sn.Status)
		}
	}
	if len(res.Generations) != 0 {
		t.Errorf("re-import added generations %+v", res.Generations)
	}
	if entries, _ := os.ReadDir(filepath.Join(b.Dir(), "tmp")); len(entries) != 0 {
		t.Errorf("work directories left: %v", entries)
	}

	// The stream is a plain NAR: nix-store can unpack it.
	if nixStore, err := exec.LookPath("nix-store"); err == nil {
		out := filepath.Join(t.TempDir(), "unpacked")
		cmd := exec.Command(nixStore, "--restore", out)
		cmd.Stdin = bytes.NewReader(stream)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("nix-store --restore: %v\n%s", err, msg)
		} else if _, err := os.Stat(filepath.Join(out, "snapshots", by.Rel(), "dump.sql.zst")); err != nil {
			t.Errorf("unpacked stream lacks the payload: %v", err)
		}
	}
}

func TestExportNamedSnapshots(t *testing.T) {
	a, b := newStore(t), newStore(t)
	old := commitText(t, a, pg, "old\n")
	cur := commitText(t, a, pg, "new\n")
	other := commitText(t, a, mysql, "other\n")
	// Named snapshots, in the order the receiver's generations should get.
	if _, err := Import(context.Background(), b, bytes.NewReader(exportAll(t, a, cur.Snapshot, old.Snapshot))); err != nil {
		t.Fatal(err)
	}
	gens, _ := b.Generations(pg)
	if len(gens) != 2 || gens[0].Snapshot != cur.Snapshot || gens[1].Snapshot != old.Snapshot {
		t.Errorf("receiver generations %+v, want new then old", gens)
	}
	if _, err := os.Stat(b.SnapshotDir(other.Snapshot)); !os.IsNotExist(err) {
		t.Errorf("an unnamed snapshot was exported")
	}
}

// R2: export refuses a damaged snapshot, before writing anything.
func TestExportRefusesDamage(t *testing.T) {
	a := newStore(t)
	good := commitText(t, a, pg, "good\n")
	bad := commitText(t, a, mysql, strings.Repeat("bad\n", 100))
	flip(t, filepath.Join(a.SnapshotDir(bad.Snapshot), "dump.sql.zst"))
	var buf bytes.Buffer
	_, err := Export(context.Background(), a, &buf, store.Selection{}, nil)
	var ie *store.IntegrityError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), bad.Rel()) || strings.Contains(err.Error(), good.Rel()) {
		t.Errorf("export of a store with a damaged snapshot: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("export wrote %d bytes before refusing", buf.Len())
	}
	// The intact one alone still exports.
	if _, err := Export(context.Background(), a, &buf, store.Selection{Container: pg.Container}, nil); err != nil {
		t.Errorf("export of the intact component: %v", err)
	}
}

// An import replaces a damaged local copy of a snapshot it carries.
func TestImportRepairsDamagedCopy(t *testing.T) {
	a, b := newStore(t), newStore(t)
	c := commitText(t, a, pg, strings.Repeat("data\n", 1000))
	stream := exportAll(t, a)
	if _, err := Import(context.Background(), b, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	flip(t, filepath.Join(b.SnapshotDir(c.Snapshot), "dump.sql.zst"))
	res, err := Import(context.Background(), b, bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Snapshots) != 1 || res.Snapshots[0].Status != store.Replaced {
		t.Errorf("import over a damaged copy: %+v", res.Snapshots)
	}
	if err := b.Verify(c.Snapshot); err != nil {
		t.Errorf("after the repairing import: %v", err)
	}
}

func TestImportRefuses(t *testing.T) {
	valid := func(t *testing.T) []byte {
		a := newStore(t)
		var text strings.Builder
		for i := 0; i < 2000; i++ {
			fmt.Fprintf(&text, "%d\t%x\n", i, sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
		}
		commitText(t, a, pg, text.String())
		return exportAll(t, a)
	}
	cases := []struct {
		name   string
		stream func(t *testing.T) []byte
		want   string
	}{
		{"empty input", func(*testing.T) []byte { return nil }, "not a snapshot stream"},
		{"not a NAR", func(*testing.T) []byte { return []byte("hello world, this is not an archive") }, "not a snapshot stream"},
		{"truncated", func(t *testing.T) []byte { s := valid(t); return s[:len(s)-40] }, "malformed"},
		{"cut before the final padding", func(t *testing.T) []byte { s := valid(t); return s[:len(s)-8] }, "malformed"},
		{"trailing data", func(t *testing.T) []byte { return append(valid(t), valid(t)...) }, "data after the end"},
		{"payload byte flipped", func(t *testing.T) []byte {
			s := valid(t)
			i := bytes.LastIndex(s, []byte("dump.sql.zst")) // the payload entry, not the metadata
			s[i+len("dump.sql.zst")+500] ^= 0x01            // inside the compressed payload
			return s
		}, "checksum mismatch"},
		{"no marker", func(t *testing.T) []byte {
			return rawNAR(dirNode("", dirNode("snapshots")))
		}, "not a snapshot stream"},
		{"unknown version", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", "dysnomia-export 2\n")))
		}, "known version"},
		{"dot-dot entry", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), fileNode("..", "x"))
		}, "malformed"},
		{"empty name", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), fileNode("", "x"))
		}, "entry"},
		{"dot entry", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), fileNode(".", "x"))
		}, "entry"},
		{"slash in name", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), fileNode("a/../../x", "x"))
		}, "malformed"},
		{"duplicate entry", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), fileNode("a", "x"), fileNode("a", "y"))
		}, "duplicate"},
		{"unsorted entries", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), fileNode("b", "x"), fileNode("a", "y"))
		}, "order"},
		{"absolute symlink", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), linkNode("dump.sql", "/etc/passwd"))
		}, "leaves the snapshot"},
		{"symlink up", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 64), linkNode("dump.sql", "../../../../etc/passwd"))
		}, "leaves the snapshot"},
		{"dot-dot container", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker), dirNode("snapshots", dirNode("..", dirNode("x")))))
		}, "malformed"},
		{"unexpected top-level entry", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker), fileNode("etc", "x")))
		}, "unexpected entry"},
		{"snapshot without checksum", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("snapshots", dirNode("c", dirNode("comp", dirNode("id1", fileNode("dump.sql", "x")))))))
		}, "no checksum"},
		{"wrong checksum", func(t *testing.T) []byte {
			return streamWith(t, "id1", "sha256:"+strings.Repeat("0", 52), fileNode("dump.sql", "x"))
		}, "checksum mismatch"},
		{"id claims another hash", func(t *testing.T) []byte {
			return streamWith(t, strings.Repeat("1", 52), "", fileNode("dump.sql", "x"))
		}, "not its id"},
		{"generation pointing out", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("generations", dirNode("c", dirNode("comp", linkNode("1", "../../../../../etc"))))))
		}, "generation link"},
		{"generation not numbered", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("generations", dirNode("c", dirNode("comp", linkNode("01", "../../../snapshots/c/comp/x"))))))
		}, "numbered"},
		{"generation of a snapshot nobody has", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("generations", dirNode("c", dirNode("comp", linkNode("1", "../../../snapshots/c/comp/x"))))))
		}, "not in the store"},
		{"checksum without snapshot", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("checksums", dirNode("c", dirNode("comp", fileNode("x", "sha256:"+strings.Repeat("0", 64)))))))
		}, "without the snapshot"},
		{"newline in container", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("checksums", dirNode("c\nd", dirNode("comp", fileNode("x", "sha256:"+strings.Repeat("0", 64)))))))
		}, "control character"},
		{"newline in component", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("checksums", dirNode("c", dirNode("co\nmp", fileNode("x", "sha256:"+strings.Repeat("0", 64)))))))
		}, "control character"},
		{"newline in snapshot id", func(t *testing.T) []byte {
			return streamWith(t, "id\n1", "sha256:"+strings.Repeat("0", 64), fileNode("dump.sql", "x"))
		}, "control character"},
		{"escape sequence in generation target", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("generations", dirNode("c", dirNode("comp", linkNode("1", "../../../snapshots/c/comp/x\x1b[2J"))))))
		}, "control character"},
		{"oversized checksum", func(t *testing.T) []byte {
			return rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
				dirNode("checksums", dirNode("c", dirNode("comp", fileNode("x", strings.Repeat("a", 4096)))))))
		}, "at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newStore(t)
			_, err := Import(context.Background(), b, bytes.NewReader(tc.stream(t)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("import: %v; want an error containing %q", err, tc.want)
			}
			if v := visible(t, b); len(v) != 0 {
				t.Errorf("a refused import left %v visible", v)
			}
			if entries, _ := os.ReadDir(filepath.Join(b.Dir(), "tmp")); len(entries) != 0 {
				t.Errorf("work directories left: %v", entries)
			}
		})
	}
}

// A NAR ends with the token ")" and 7 bytes of padding: a stream cut
// anywhere inside them is refused too.
func TestImportRefusesCutInFinalPadding(t *testing.T) {
	a := newStore(t)
	commitText(t, a, pg, "Hello\n")
	full := exportAll(t, a)
	if !bytes.HasSuffix(full, []byte(")\x00\x00\x00\x00\x00\x00\x00")) {
		t.Fatalf("the stream does not end with a padded \")\": % x", full[len(full)-16:])
	}
	for cut := 1; cut <= 7; cut++ {
		b := newStore(t)
		_, err := Import(context.Background(), b, bytes.NewReader(full[:len(full)-cut]))
		if err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("cut %d bytes: import: %v; want a malformed-stream error", cut, err)
		}
		if v := visible(t, b); len(v) != 0 {
			t.Errorf("cut %d bytes: %v visible", cut, v)
		}
	}
	b := newStore(t)
	if _, err := Import(context.Background(), b, bytes.NewReader(full)); err != nil {
		t.Errorf("the whole stream: %v", err)
	}
}

func flip(t testing.TB, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	os.WriteFile(file, data, 0o644)
}

// upstreamSnapshot writes an upstream-style snapshot (see the store tests):
// a plain file payload, hex id, upstream checksum.
func upstreamSnapshot(t testing.TB, s *store.Store, k store.Key, text string) store.Snapshot {
	t.Helper()
	file := sha256.Sum256([]byte(text))
	sn := store.Snapshot{Key: k, ID: hex.EncodeToString(file[:])}
	dir := s.SnapshotDir(sn)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "dump.sql"), []byte(text), 0o644)
	stream := sha256.Sum256(append([]byte(".\n./dump.sql\n\n"), text...))
	sumFile := filepath.Join(s.Dir(), "checksums", k.Container, k.Component, sn.ID)
	os.MkdirAll(filepath.Dir(sumFile), 0o755)
	os.WriteFile(sumFile, []byte("sha256:"+hex.EncodeToString(stream[:])), 0o644)
	return sn
}
