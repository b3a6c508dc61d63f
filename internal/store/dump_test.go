package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

// The hash computed while the dump is written must be the NAR hash of the
// finished directory, whatever the layout; and it must actually be
// computed that way for the usual layouts (else the optimisation is dead).
func TestDumpPipelinedHash(t *testing.T) {
	defer func(old int64) { partSize = old }(partSize)
	partSize = 4096
	big := string(pgDumpLike(200 << 10)) // several parts at this part size

	type file struct{ name, text string }
	cases := []struct {
		name       string
		files      []file
		interleave bool
		pipelined  bool // whether the hash must have been computed while writing
		either     bool // the encoder's buffering decides; only the checksum counts
	}{
		{"one small file", []file{{"dump.sql", "hello\n"}}, false, true, false},
		{"one file in parts", []file{{"dump.sql", big}}, false, true, false},
		{"files in name order", []file{{"a.sql", big}, {"b.sql", "b\n"}}, false, true, false},
		{"files out of name order", []file{{"b.sql", "b\n"}, {"a.sql", big}}, false, false, false},
		{"a name that sorts after the parts", []file{{"x", big}, {"x.zst.5", "y"}}, false, true, false},
		{"nested file", []file{{"dir/x.sql", "x\n"}}, false, false, false},
		// Whether the parts of two files written at the same time finish
		// out of NAR order depends on when the encoder emits its blocks.
		{name: "files written at the same time", files: []file{{"a.sql", big}, {"b.sql", big}}, interleave: true, either: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			var d *Dump
			c, err := s.Commit(context.Background(), testKey, Meta{}, func(dd *Dump) error {
				d = dd
				var ws []io.WriteCloser
				for _, f := range tc.files {
					w, err := dd.Create(f.name)
					if err != nil {
						return err
					}
					if !tc.interleave {
						io.WriteString(w, f.text)
						if err := w.Close(); err != nil {
							return err
						}
						continue
					}
					ws = append(ws, w)
				}
				for i := 0; i < len(big); i += 1000 {
					for j, w := range ws {
						io.WriteString(w, tc.files[j].text[i:min(i+1000, len(tc.files[j].text))])
					}
				}
				for _, w := range ws {
					if err := w.Close(); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want, err := NARHash(s.SnapshotDir(c.Snapshot))
			if err != nil {
				t.Fatal(err)
			}
			if c.Checksum != want {
				t.Errorf("commit checksum %s, NAR hash of the directory %s", c.Checksum, want)
			}
			if got := d.sum != ""; got != tc.pipelined && !tc.either {
				t.Errorf("hashed while writing: %v, want %v", got, tc.pipelined)
			}
			for _, f := range tc.files {
				p, err := s.Read(context.Background(), c.Snapshot)
				if err != nil {
					t.Fatal(err)
				}
				r, err := p.Open(f.name)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(r)
				r.Close()
				if string(data) != f.text {
					t.Errorf("%s reads back %d bytes, want %d", f.name, len(data), len(f.text))
				}
			}
		})
	}
}

func TestDumpParts(t *testing.T) {
	defer func(old int64) { partSize = old }(partSize)
	partSize = 4096
	s := newStore(t)
	text := string(pgDumpLike(300 << 10))
	c := commitText(t, s, testKey, text)
	dir := s.SnapshotDir(c.Snapshot)
	names := entries(t, dir)
	if len(names) < 3 || names[0] != "dump.sql.zst" || names[1] != "dump.sql.zst.000001" {
		t.Fatalf("payload files %v", names)
	}
	var total int64
	for i, n := range names {
		fi, _ := os.Stat(filepath.Join(dir, n))
		total += fi.Size()
		if i < len(names)-1 && fi.Size() != partSize {
			t.Errorf("part %s has %d bytes, want %d", n, fi.Size(), partSize)
		}
	}
	md, _ := s.Metadata(c.Snapshot)
	if diff := cmp.Diff([]FileInfo{{Name: "dump.sql.zst", Size: total, DumpSize: int64(len(text)), Parts: len(names)}}, md.Files); diff != "" {
		t.Errorf("metadata files (-want +got):\n%s", diff)
	}
	if got := readText(t, s, c.Snapshot); got != text {
		t.Errorf("read back %d bytes, want %d", len(got), len(text))
	}
	// Same data, same parts, same id.
	if again := commitText(t, newStore(t), testKey, text); again.ID != c.ID {
		t.Errorf("id %s, then %s", c.ID, again.ID)
	}
	// A missing part is damage, and Read refuses.
	os.Remove(filepath.Join(dir, "dump.sql.zst.000001"))
	if _, err := s.Read(context.Background(), c.Snapshot); !isIntegrity(err) {
		t.Errorf("Read with a part missing: %v", err)
	}
}

func TestPartNames(t *testing.T) {
	for i, want := range []string{"d.zst", "d.zst.000001", "d.zst.000012"} {
		n := []int{0, 1, 12}[i]
		if got := partName("d.zst", n); got != want {
			t.Errorf("partName(%d) = %q", n, got)
		}
		base, idx, ok := splitPart(want)
		if (n > 0) != ok || (ok && (base != "d.zst" || idx != n)) {
			t.Errorf("splitPart(%q) = %q, %d, %v", want, base, idx, ok)
		}
	}
	for _, name := range []string{"d.zst.1", "d.sql.000001", "d.zst.00000a", "d.zst.000000", "d.zst.0000001"} {
		if _, _, ok := splitPart(name); ok {
			t.Errorf("splitPart(%q) accepted", name)
		}
	}
	if !strings.HasPrefix(partName("x", 1), "x.") {
		t.Fatal()
	}
}

// The stored bytes of a payload file are exactly what a zstd encoder with
// EncoderOptions (FastEncoderOptions, DumpEncoderOptions) and more
// goroutines writes: the single encoder goroutine of Create (CreateFast,
// CreateDump) changes no snapshot id.
func TestDumpOutputIndependentOfConcurrency(t *testing.T) {
	data := pgDumpLike(3 << 20)
	for _, kind := range []string{"default", "fast", "dump"} {
		s := newStore(t)
		c, err := s.Commit(context.Background(), testKey, Meta{Module: "test"}, func(d *Dump) error {
			create := d.Create
			switch kind {
			case "fast":
				create = d.CreateFast
			case "dump":
				create = d.CreateDump
			}
			w, err := create("dump.sql")
			if err != nil {
				return err
			}
			for off := 0; off < len(data); off += 40000 {
				if _, err := w.Write(data[off:min(off+40000, len(data))]); err != nil {
					return err
				}
			}
			return w.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(s.SnapshotDir(c.Snapshot), "dump.sql.zst"))
		if err != nil {
			t.Fatal(err)
		}
		opts := EncoderOptions()
		switch kind {
		case "fast":
			opts = FastEncoderOptions()
		case "dump":
			opts = DumpEncoderOptions()
		}
		var want bytes.Buffer
		enc, _ := zstd.NewWriter(&want, append(opts, zstd.WithEncoderConcurrency(4))...)
		enc.Write(data)
		enc.Close()
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: stored %d bytes differ from the encoder's %d with 4 goroutines", kind, len(got), want.Len())
		}
	}
}
