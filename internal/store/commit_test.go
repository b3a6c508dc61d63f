package store

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

var testKey = Key{"postgresql-database", "testdb"}

func TestCommitGenerations(t *testing.T) {
	s := newStore(t)
	hello := commitText(t, s, testKey, "Hello world\n")
	again := commitText(t, s, testKey, "Hello world\n")
	bye := commitText(t, s, testKey, "Hello world\nBye world\n")
	back := commitText(t, s, testKey, "Hello world\n")

	type outcome struct {
		ID            string
		Generation    int
		NewGeneration bool
		Existed       bool
	}
	got := []outcome{}
	for _, c := range []Committed{hello, again, bye, back} {
		got = append(got, outcome{c.ID, c.Generation, c.NewGeneration, c.Existed})
	}
	want := []outcome{
		{hello.ID, 1, true, false},
		{hello.ID, 1, false, true}, // unchanged state adds nothing
		{bye.ID, 2, true, false},   // new state, new generation
		{hello.ID, 3, true, true},  // an older state becomes the latest again
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	if hello.ID == bye.ID {
		t.Fatalf("different content got the same id %s", hello.ID)
	}
	if diff := cmp.Diff([]string{"1=" + hello.ID, "2=" + bye.ID, "3=" + hello.ID}, gensOf(t, s, testKey)); diff != "" {
		t.Errorf("generations (-want +got):\n%s", diff)
	}
	if got := entries(t, s.path("snapshots", testKey.Container, testKey.Component)); len(got) != 2 {
		t.Errorf("snapshot count = %d (%v), want 2", len(got), got)
	}
	if got := readText(t, s, bye.Snapshot); got != "Hello world\nBye world\n" {
		t.Errorf("read back %q", got)
	}
	if got := entries(t, s.path("tmp")); len(got) != 0 {
		t.Errorf("work directories left behind: %v", got)
	}
}

func TestCommitIDIsNARHash(t *testing.T) {
	s := newStore(t)
	c := commitText(t, s, testKey, strings.Repeat("insert into t values (1);\n", 1000))
	dir := s.SnapshotDir(c.Snapshot)
	sum, err := NARHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum != "sha256:"+c.ID || c.Checksum != sum {
		t.Errorf("NAR hash %s, id %s, checksum %s: want all equal", sum, c.ID, c.Checksum)
	}
	stored, err := os.ReadFile(s.checksumFile(c.Snapshot))
	if err != nil || string(stored) != sum {
		t.Errorf("checksum file = %q, %v; want %q without newline", stored, err, sum)
	}
	md, err := s.Metadata(c.Snapshot)
	if err != nil || md == nil {
		t.Fatalf("metadata: %v, %v", md, err)
	}
	if md.Module != "test" || md.Checksum != sum || len(md.Files) != 1 || md.Files[0].Name != "dump.sql.zst" || md.Files[0].DumpSize != 26000 {
		t.Errorf("metadata = %+v", md)
	}
	if !IsNARID(c.ID) {
		t.Errorf("id %q is not a nixbase32 sha256", c.ID)
	}

	nixHash, err := exec.LookPath("nix-hash")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nix-hash not found (CI installs nix-bin)")
		}
		t.Skip("nix-hash not found; cannot compare with Nix")
	}
	out, err := exec.Command(nixHash, "--type", "sha256", "--base32", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != c.ID {
		t.Errorf("nix-hash %s = %s, id = %s", dir, got, c.ID)
	}
}

// The id must depend on the data only: not on how the module chunks its
// writes, not on the machine's core count (the encoder's default
// concurrency), not on a second run.
func TestCommitIDIsDeterministic(t *testing.T) {
	data := pgDumpLike(3 << 20)
	commitChunks := func(s *Store, chunk int) string {
		c, err := s.Commit(context.Background(), testKey, Meta{}, func(d *Dump) error {
			w, err := d.Create("dump.sql")
			if err != nil {
				return err
			}
			for p := data; len(p) > 0; {
				n := min(chunk, len(p))
				if _, err := w.Write(p[:n]); err != nil {
					return err
				}
				p = p[n:]
			}
			return w.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	want := commitChunks(newStore(t), 1<<20)
	for _, chunk := range []int{1, 4096, 32 << 10, 3 << 20} {
		if chunk == 1 {
			chunk = 7919 // an odd size; writing byte by byte would take too long
		}
		if got := commitChunks(newStore(t), chunk); got != want {
			t.Errorf("writes of %d bytes: id %s, want %s", chunk, got, want)
		}
	}
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, procs := range []int{1, 2, 8} {
		runtime.GOMAXPROCS(procs)
		if got := commitChunks(newStore(t), 64<<10); got != want {
			t.Errorf("GOMAXPROCS %d: id %s, want %s", procs, got, want)
		}
	}
	runtime.GOMAXPROCS(prev)

	// The encoders themselves (Create's and CreateFast's settings), with
	// explicit concurrency settings.
	for level, opts := range map[string][]zstd.EOption{"default": EncoderOptions(), "fast": FastEncoderOptions()} {
		var ref []byte
		for _, conc := range []int{1, 2, 4, 16} {
			var buf bytes.Buffer
			enc, err := zstd.NewWriter(&buf, append(slices.Clone(opts), zstd.WithEncoderConcurrency(conc))...)
			if err != nil {
				t.Fatal(err)
			}
			enc.Write(data)
			enc.Close()
			if ref == nil {
				ref = buf.Bytes()
			} else if !bytes.Equal(ref, buf.Bytes()) {
				t.Errorf("%s level: encoder concurrency %d gives different output (%d vs %d bytes)", level, conc, buf.Len(), len(ref))
			}
		}
	}
}

func TestCommitFailureLeavesNothing(t *testing.T) {
	cases := []struct {
		name string
		fill func(*Dump) error
	}{
		{"module error", func(d *Dump) error {
			w, _ := d.Create("dump.sql")
			w.Write([]byte("half a dump"))
			w.Close()
			return errors.New("pg_dump: connection lost")
		}},
		{"writer left open", func(d *Dump) error {
			w, _ := d.Create("dump.sql")
			w.Write([]byte("data"))
			return nil
		}},
		{"nothing written", func(d *Dump) error { return nil }},
		{"bad file name", func(d *Dump) error {
			_, err := d.Create("../escape")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if _, err := s.Commit(context.Background(), testKey, Meta{}, tc.fill); err == nil {
				t.Fatal("commit succeeded")
			}
			for _, kind := range []string{"snapshots", "generations", "checksums", "metadata", "tmp"} {
				if got := entries(t, s.path(kind)); len(got) != 0 {
					t.Errorf("%s: %v left behind", kind, got)
				}
			}
		})
	}
	if _, err := newStore(t).Commit(context.Background(), Key{"..", "x"}, Meta{}, nil); err == nil {
		t.Error("commit with container \"..\" succeeded")
	}
}

func TestCommitRepairsDamagedCopy(t *testing.T) {
	s := newStore(t)
	c := commitText(t, s, testKey, strings.Repeat("row\n", 5000))
	flipByte(t, filepath.Join(s.SnapshotDir(c.Snapshot), "dump.sql.zst"))
	if err := s.Verify(c.Snapshot); !isIntegrity(err) {
		t.Fatalf("verify after damage = %v, want an integrity error", err)
	}
	again := commitText(t, s, testKey, strings.Repeat("row\n", 5000))
	if again.ID != c.ID || again.Status != Replaced || again.NewGeneration {
		t.Errorf("recommit = %+v, want the same id, Replaced, no new generation", again)
	}
	if err := s.Verify(c.Snapshot); err != nil {
		t.Errorf("verify after repair: %v", err)
	}
}

// pgDumpLike returns n bytes that look like a pg_dump COPY section, the
// same for the same n.
func pgDumpLike(n int) []byte {
	var b bytes.Buffer
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\nCOPY public.orders (id, customer, placed, status, amount) FROM stdin;\n")
	r := rand.New(rand.NewSource(1))
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	for i := 1; b.Len() < n; i++ {
		b.WriteString(itoa10(i))
		b.WriteString("\tcustomer ")
		b.WriteString(words[r.Intn(len(words))])
		b.WriteString("\t2024-0")
		b.WriteString(itoa10(1 + r.Intn(9)))
		b.WriteString("-1")
		b.WriteString(itoa10(r.Intn(10)))
		b.WriteString("\tshipped\t")
		b.WriteString(itoa10(r.Intn(100000)))
		b.WriteString(".00\n")
	}
	return b.Bytes()[:n]
}

func itoa10(n int) string { return strconv.Itoa(n) }

// Summary words each outcome of a commit the one way every module reports
// it; a commit that rewrites a damaged copy of the same id says so.
func TestCommittedSummary(t *testing.T) {
	s := newStore(t)
	first := commitText(t, s, testKey, "a\n")
	again := commitText(t, s, testKey, "a\n")
	flipByte(t, filepath.Join(s.SnapshotDir(first.Snapshot), "dump.sql.zst"))
	repaired := commitText(t, s, testKey, "a\n")
	second := commitText(t, s, testKey, "b\n")
	got := []string{first.Summary(), again.Summary(), repaired.Summary(), second.Summary()}
	want := []string{
		"snapshot " + first.Rel() + ": generation 1",
		"snapshot " + first.Rel() + ": unchanged, still generation 1",
		"snapshot " + first.Rel() + ": repaired (a damaged copy was replaced), still generation 1",
		"snapshot " + second.Rel() + ": generation 2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
	if err := s.Verify(first.Snapshot); err != nil {
		t.Errorf("after the repairing commit: %v", err)
	}
}
