package postgresql

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// head builds an archive head: magic, version, int size 4, offset size 8,
// custom format, compression, creation time, then some bytes of TOC.
func head(vmin byte, tm [7]int) []byte {
	b := []byte("PGDMP")
	b = append(b, 1, vmin, 0, 4, 8, 1)
	putInt := func(v int) {
		b = append(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	if vmin >= 15 {
		b = append(b, 0)
	} else {
		putInt(0)
	}
	for _, v := range tm {
		putInt(v)
	}
	return append(b, "\x00\x01\x00\x00\x00tTOC..."...)
}

// TestNormalizer rewrites the creation time of every archive version, in
// any write chunking, and nothing else.
func TestNormalizer(t *testing.T) {
	now := [7]int{48, 27, 10, 28, 10, 126, 0}
	for _, vmin := range []byte{14, 15, 16} {
		in, want := head(vmin, now), head(vmin, fixedTime)
		for _, chunk := range []int{1, 3, 7, len(in)} {
			var out bytes.Buffer
			z := &normalizer{w: &out}
			for rest := in; len(rest) > 0; {
				n := min(chunk, len(rest))
				if w, err := z.Write(rest[:n]); err != nil || w != n {
					t.Fatalf("1.%d chunk %d: Write = %d, %v", vmin, chunk, w, err)
				}
				rest = rest[n:]
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, out.Bytes()); diff != "" {
				t.Errorf("1.%d chunk %d: (-want +got)\n%s", vmin, chunk, diff)
			}
		}
	}
}

func TestNormalizerRejects(t *testing.T) {
	for name, in := range map[string][]byte{
		"plain SQL":     []byte("--\n-- PostgreSQL database dump\n--\n"),
		"empty":         nil,
		"short head":    []byte("PGDMP\x01\x0e\x00\x04"),
		"old version":   head(3, fixedTime),
		"bad int size":  append([]byte("PGDMP\x01\x0e\x00\x09\x08\x01"), make([]byte, 80)...),
		"truncated ts":  head(14, fixedTime)[:30],
		"other archive": []byte("PK\x03\x04 zip"),
	} {
		var out bytes.Buffer
		z := &normalizer{w: &out}
		_, werr := z.Write(in)
		cerr := z.Close()
		if werr == nil && cerr == nil {
			t.Errorf("%s: accepted", name)
		}
		if name != "empty" && out.Len() > 0 && werr != nil {
			t.Errorf("%s: wrote %d bytes before failing", name, out.Len())
		}
	}
}

// payloadDump decompresses the dump of snapshot sn to a file readable by
// the server's OS user and returns its path.
func (f *fixture) payloadDump(sn store.Snapshot) string {
	f.t.Helper()
	p, err := f.store.Read(context.Background(), sn)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := p.Open(dumpName)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	path := filepath.Join(f.srv.Dir, "dump-"+sn.ID)
	out, err := os.Create(path)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := io.Copy(out, r); err != nil {
		f.t.Fatal(err)
	}
	out.Close()
	os.Chmod(path, 0o644)
	f.t.Cleanup(func() { os.Remove(path) })
	return path
}

// TestSnapshotUnchangedDatabase: the same data gives the same id and no new
// generation; new data a new one. pg_restore reads the normalised archive.
func TestSnapshotUnchangedDatabase(t *testing.T) {
	f := newFixture(t, "snapme", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	time.Sleep(1100 * time.Millisecond) // the archive's creation time has a resolution of one second
	f.must(module.Snapshot)
	gens := f.generations()
	if len(gens) != 1 {
		t.Fatalf("generations after two snapshots of unchanged data = %d, want 1", len(gens))
	}
	f.query("insert into test values ('Bye world')")
	f.must(module.Snapshot)
	gens = f.generations()
	if len(gens) != 2 || gens[0].Snapshot.ID == gens[1].Snapshot.ID {
		t.Fatalf("generations after a change = %+v, want 2 different", gens)
	}

	path := f.payloadDump(gens[1].Snapshot)
	out, err := f.srv.Command("", "pg_restore", "-l", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Archive created at 2000-01-01 00:00:00") {
		t.Fatalf("pg_restore -l: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "warning") {
		t.Errorf("pg_restore warns about the normalised archive:\n%s", out)
	}
	sqlOut, err := f.srv.Command("", "pg_restore", "-f", "-", path).Output()
	if err != nil || !bytes.Contains(sqlOut, []byte("Bye world")) {
		t.Fatalf("pg_restore -f - of the archive: %v; Bye world in it: %v", err, bytes.Contains(sqlOut, []byte("Bye world")))
	}
}

// TestSnapshotMissingDatabase fails and stores nothing.
func TestSnapshotMissingDatabase(t *testing.T) {
	f := newFixture(t, "nosuchdb", nil)
	err := f.run(module.Snapshot)
	if err == nil || !strings.Contains(err.Error(), `database "nosuchdb" does not exist`) {
		t.Fatalf("snapshot of a missing database: %v", err)
	}
	if gens := f.generations(); len(gens) != 0 {
		t.Fatalf("generations = %v, want none", gens)
	}
}

// TestSnapshotFailingPgDump: when pg_dump fails after writing part of the
// archive (a wrapper passes on 4 KiB of the real output, then exits 1),
// nothing is stored, not even a partial dump.
func TestSnapshotFailingPgDump(t *testing.T) {
	f := newFixture(t, "dumpfails", map[string]string{"a.sql": "create table big as select g as x, repeat('x', 100) as pad from generate_series(1, 20000) g;\n"})
	f.dropAtEnd()
	f.must(module.Activate)
	bin := publicDir(t)
	script := "#!/bin/sh\n" + filepath.Join(f.srv.BinDir, "pg_dump") + " \"$@\" | head -c 4096\necho 'pg_dump: error: simulated failure' >&2\nexit 1\n"
	for _, tool := range []string{"pg_dump", "psql", "pg_restore"} {
		target := filepath.Join(f.srv.BinDir, tool)
		content := "#!/bin/sh\nexec " + target + " \"$@\"\n"
		if tool == "pg_dump" {
			content = script
		}
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.set("postgresqlBinDir", bin)
	err := f.run(module.Snapshot)
	if err == nil || !strings.Contains(err.Error(), "simulated failure") {
		t.Fatalf("snapshot with a failing pg_dump: %v", err)
	}
	if gens := f.generations(); len(gens) != 0 {
		t.Fatalf("generations = %v, want none", gens)
	}
	snaps, _ := os.ReadDir(filepath.Join(f.store.Dir(), "snapshots", ModuleType, "dumpfails"))
	if len(snaps) != 0 {
		t.Fatalf("snapshot directories left: %v", snaps)
	}
}

// TestSnapshotWhileWriting: while another connection commits transactions
// that each add a row to two tables, the snapshot holds both tables at the
// same transaction: equal counts after restore.
func TestSnapshotWhileWriting(t *testing.T) {
	f := newFixture(t, "busy", map[string]string{
		"a.sql": "create table a (n int); create table b (n int);\n" +
			"create table filler as select g, md5(g::text) as h from generate_series(1, 300000) g;\n",
	})
	f.dropAtEnd()
	f.must(module.Activate)

	conn := f.srv.Connect(t, "busy")
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx := context.Background()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := conn.Exec(ctx, "begin; insert into a values ("+strconv.Itoa(i)+"); select pg_sleep(0.001); insert into b values ("+strconv.Itoa(i)+"); commit")
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			committed.Add(1)
		}
	}()
	for committed.Load() < 10 {
		time.Sleep(10 * time.Millisecond)
	}
	before := committed.Load()
	err := f.run(module.Snapshot)
	after := committed.Load()
	// Let the writer go on, so that the database moves past the snapshot.
	for committed.Load() < after+5 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Fatal("no transaction committed while the snapshot ran; the test proves nothing")
	}
	t.Logf("%d transactions committed while pg_dump ran", after-before)
	total, _ := strconv.Atoi(f.query("select count(*) from a"))
	conn.Close(context.Background())

	f.must(module.Restore)
	na, _ := strconv.Atoi(f.query("select count(*) from a"))
	nb, _ := strconv.Atoi(f.query("select count(*) from b"))
	if na != nb {
		t.Fatalf("restored counts a = %d, b = %d: the snapshot is not consistent", na, nb)
	}
	if na < int(before) || na >= total {
		t.Fatalf("restored %d rows; want at least the %d committed before the snapshot and fewer than the %d at the end", na, before, total)
	}
}

// TestSnapshotIsAPlainArchive: the stored dump is an archive plain
// pg_restore loads into another database.
func TestSnapshotIsAPlainArchive(t *testing.T) {
	f := newFixture(t, "plainarchive", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	path := f.payloadDump(f.generations()[0].Snapshot)
	f.srv.Psql(t, "postgres", "drop database if exists plainarchive_copy")
	f.srv.Psql(t, "postgres", "create database plainarchive_copy")
	t.Cleanup(func() { f.srv.QueryPsql("postgres", "drop database if exists plainarchive_copy") })
	cmd := f.srv.Command("", "pg_restore", "--exit-on-error", "-d", "plainarchive_copy", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	if got := f.srv.Psql(t, "plainarchive_copy", "select msg from test"); got != "Hello world" {
		t.Fatalf("restored copy holds %q", got)
	}
}
