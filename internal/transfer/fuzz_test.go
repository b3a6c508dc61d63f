package transfer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/name"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// FuzzImport feeds arbitrary streams to Import. Whatever the input, Import
// must not panic or hang, must write nothing outside the state directory,
// must leave no work directory behind, and must either refuse the stream
// with nothing of it visible, or leave a store in which every snapshot
// verifies and check finds no problem.
//
// Run it with a bound on minimisation:
//
//	go test ./internal/transfer -run '^$' -fuzz '^FuzzImport$' -fuzztime 5m -fuzzminimizetime 50x
//
// Every execution does real file system work (fsyncs included), so the
// default minimisation budget (60 s per new input) would spend the whole
// run minimising the first input with new coverage.
//
// The seed corpus is testdata/fuzz/FuzzImport (valid streams and the
// hostile ones of TestImportRefuses); TRANSFER_WRITE_SEEDS=1 go test -run
// TestWriteFuzzSeeds regenerates it.
func FuzzImport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		s := store.Open(filepath.Join(root, "state"))
		// A hang fails the input (the fuzzer itself has no per-input limit).
		type result struct {
			res *Imported
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := Import(context.Background(), s, bytes.NewReader(data))
			done <- result{res, err}
		}()
		var r0 result
		select {
		case r0 = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("import of a %d-byte stream hung", len(data))
		}
		res, err := r0.res, r0.err

		if entries, _ := os.ReadDir(root); len(entries) > 1 || len(entries) == 1 && entries[0].Name() != "state" {
			t.Fatalf("import wrote outside the state directory: %v", entries)
		}
		if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(entries) != 0 {
			t.Fatalf("work directories left: %v", entries)
		}
		if err != nil {
			if v := visible(t, s); len(v) != 0 {
				t.Fatalf("refused import (%v) left %v visible", err, v)
			}
			return
		}
		for _, sn := range res.Snapshots {
			if v := s.Inspect(sn.Snapshot); !v.OK() || v.NoChecksum {
				t.Fatalf("imported %s: %s", sn.Rel(), v)
			}
		}
		r, err := s.Check(context.Background(), store.Selection{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Problems() {
			t.Fatalf("after a successful import: %s", p.Message)
		}
	})
}

// fuzzSeeds are the seed streams: valid ones and hostile ones.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	a := newStore(t)
	x := commitText(t, a, pg, "Hello\n")
	y := commitText(t, a, pg, "Hello\nBye\n")
	commitText(t, a, pg, "Hello\n")
	commitText(t, a, mysql, strings.Repeat("shop\n", 50))
	seeds["valid-all"] = exportAll(t, a)
	seeds["valid-named"] = exportAll(t, a, y.Snapshot, x.Snapshot)
	var empty bytes.Buffer
	Export(context.Background(), newStore(t), &empty, store.Selection{}, nil)
	seeds["valid-empty"] = empty.Bytes()
	sum := "sha256:" + strings.Repeat("0", 64)
	seeds["dotdot-entry"] = streamWith(t, "id1", sum, fileNode("..", "x"))
	seeds["empty-name"] = streamWith(t, "id1", sum, fileNode("", "x"))
	seeds["duplicate"] = streamWith(t, "id1", sum, fileNode("a", "x"), fileNode("a", "y"))
	seeds["symlink-out"] = streamWith(t, "id1", sum, linkNode("dump.sql", "/etc/passwd"))
	seeds["symlink-up"] = streamWith(t, "id1", sum, linkNode("dump.sql", "../../x"))
	seeds["symlink-in"] = streamWith(t, "", "", fileNode("a", "x"), linkNode("b", "a"))
	seeds["executable"] = streamWith(t, "", "", node{name: "run", file: ptr("#!/bin/sh\n"), execBits: true})
	seeds["nested"] = streamWith(t, "", "", dirNode("d", fileNode("f", "x")), fileNode("g", "y"))
	seeds["wrong-checksum"] = streamWith(t, "id1", "sha256:"+strings.Repeat("0", 52), fileNode("dump.sql", "x"))
	seeds["generation-out"] = rawNAR(dirNode("", fileNode(".dysnomia-export", marker),
		dirNode("generations", dirNode("c", dirNode("comp", linkNode("1", "../../../../../etc"))))))
	seeds["unexpected-top"] = rawNAR(dirNode("", fileNode(".dysnomia-export", marker), fileNode("etc", "x")))
	return seeds
}

func ptr(s string) *string { return &s }

// TestWriteFuzzSeeds writes the seed corpus of FuzzImport.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("TRANSFER_WRITE_SEEDS") != "1" {
		t.Skip("set TRANSFER_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzImport")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzImport")
	os.MkdirAll(dir, 0o755)
	for name, data := range fuzzSeeds(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzImportHeader fuzzes what a stream says about its snapshots — the
// marker, the container and component names, the snapshot id, the checksum
// and the stream's length — around a valid payload. Whatever they are, an
// import either refuses the stream with nothing visible or installs
// snapshots whose names pass the name rule (one path segment, one printable
// line) and which verify.
//
//	go test ./internal/transfer -run '^$' -fuzz '^FuzzImportHeader$' -fuzztime 5m -fuzzminimizetime 50x
func FuzzImportHeader(f *testing.F) {
	f.Add(marker, "c", "comp", "", "", 0)
	f.Add(marker, "c\nd", "comp", "", "", 0)
	f.Add(marker, "c", "co\x1bmp", "id\n1", "", 3)
	f.Add("dysnomia-export 1", "..", "-x", "", "sha256:"+strings.Repeat("0", 64), 0)
	f.Fuzz(func(t *testing.T, mark, container, component, id, sum string, cut int) {
		stream := streamWithKey(t, store.Key{Container: container, Component: component}, mark, id, sum, fileNode("dump.sql", "hello\n"))
		if cut < 0 {
			cut = -cut
		}
		if n := cut % 64; n > 0 && n < len(stream) {
			stream = stream[:len(stream)-n]
		}
		s := store.Open(filepath.Join(t.TempDir(), "state"))
		res, err := Import(context.Background(), s, bytes.NewReader(stream))
		if err != nil {
			if v := visible(t, s); len(v) != 0 {
				t.Fatalf("refused import (%v) left %v visible", err, v)
			}
			return
		}
		for _, sn := range res.Snapshots {
			for _, seg := range []string{sn.Container, sn.Component, sn.ID} {
				if err := name.Check(seg); err != nil {
					t.Fatalf("installed %q: %v", sn.Rel(), err)
				}
			}
			if v := s.Inspect(sn.Snapshot); !v.OK() {
				t.Fatalf("installed %s: %s", sn.Rel(), v)
			}
		}
	})
}
