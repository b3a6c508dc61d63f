package postgresql

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// twoTables has two tables whose data are separate blocks of an archive
// (and separate COPY statements of a plain dump).
var twoTables = map[string]string{
	"a.sql": "create table first (x int);\ninsert into first select generate_series(1, 100);\n" +
		"create table second (y text);\ninsert into second values ('kept'), ('also kept');\n",
}

// commitDump stores data as a snapshot of the fixture's component in our
// format: its checksum matches, whatever the data.
func (f *fixture) commitDump(data []byte) store.Snapshot {
	f.t.Helper()
	c, err := f.store.Commit(context.Background(), f.request(module.Snapshot).Key(), store.Meta{Module: ModuleType}, func(d *store.Dump) error {
		w, err := d.Create(dumpName)
		if err != nil {
			return err
		}
		w.Write(data)
		return w.Close()
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Snapshot
}

// latestDump reads the archive of the latest snapshot.
func (f *fixture) latestDump() []byte {
	f.t.Helper()
	gens := f.generations()
	p, err := f.store.Read(context.Background(), gens[len(gens)-1].Snapshot)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := p.Open(dumpName)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return data
}

// A custom-format archive cut cleanly between two tables' data blocks has a
// valid checksum (upstream-style stores checksummed what the dump tool
// wrote) but lacks data its table of contents lists: restore refuses it
// with an integrity error and changes nothing.
func TestRestoreRefusesArchiveCutBetweenBlocks(t *testing.T) {
	f := newFixture(t, "cutarchive", twoTables)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	full := f.latestDump()

	// The data block of "second": BLK_DATA (1), then its dump id as an int
	// (a sign byte and 4 little-endian bytes).
	cmd := f.srv.Command("postgres", "pg_restore", "-l")
	cmd.Stdin = bytes.NewReader(full)
	toc, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_restore -l: %v", err)
	}
	m := regexp.MustCompile(`(?m)^(\d+); \d+ \d+ TABLE DATA public second `).FindSubmatch(toc)
	if m == nil {
		t.Fatalf("no TABLE DATA entry for second in:\n%s", toc)
	}
	id, _ := strconv.Atoi(string(m[1]))
	hdr := []byte{1, 0, byte(id), byte(id >> 8), byte(id >> 16), byte(id >> 24)}
	at := bytes.LastIndex(full, hdr)
	if at < 0 {
		t.Fatalf("no data block header % x for dump id %d", hdr, id)
	}
	f.commitDump(full[:at])
	f.query("insert into first values (1000)")

	err = f.run(module.Restore)
	var ie *store.IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("restore of an archive cut between blocks: %v, want an integrity error", err)
	}
	if got := f.query("select count(*) || ' ' || (select count(*) from second) from first"); got != "101 2" {
		t.Errorf("after the refused restore: rows of first and second %q, want \"101 2\"", got)
	}
	if dbs := f.srv.Databases(t); strings.Contains(strings.Join(dbs, " "), "dysnomia-") {
		t.Errorf("temporary databases left: %v", dbs)
	}
}

// A plain dump (upstream's format) cut cleanly after a statement loads
// without an error; only the missing trailer tells. Restore refuses it with
// an integrity error and changes nothing; the whole dump restores.
func TestRestoreRefusesPlainDumpWithoutTrailer(t *testing.T) {
	f := newFixture(t, "cutplain", twoTables)
	f.dropAtEnd()
	f.must(module.Activate)
	plain, err := f.srv.Command("cutplain", "pg_dump").Output()
	if err != nil {
		t.Fatal(err)
	}
	// Cut right after the end of the first COPY block.
	end := bytes.Index(plain, []byte("\n\\.\n"))
	if end < 0 || !bytes.Contains(plain[end:], []byte("COPY public.second")) {
		t.Fatalf("unexpected dump layout:\n%s", plain)
	}
	writeUpstreamSnapshot(t, f.store.Dir(), ModuleType, "cutplain", plain[:end+4])
	f.query("insert into second values ('current')")

	err = f.run(module.Restore)
	var ie *store.IntegrityError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "dump complete") {
		t.Fatalf("restore of a plain dump cut after a statement: %v, want an integrity error naming the trailer", err)
	}
	if got := f.query("select count(*) from second"); got != "3" {
		t.Errorf("rows of second after the refused restore = %s, want 3", got)
	}

	writeUpstreamSnapshot(t, f.store.Dir(), ModuleType, "cutplain", plain)
	f.must(module.Restore)
	if got := f.query("select count(*) from second"); got != "2" {
		t.Errorf("rows of second after restoring the whole dump = %s, want 2", got)
	}
}

func TestTruncatedArchiveMessages(t *testing.T) {
	for msg, want := range map[string]bool{
		"pg_restore: error: could not find block ID 3362 in archive -- possibly due to out-of-order restore request": true,
		"pg_restore: error: could not read from input file: end of file":                                             true,
		`pg_restore: error: could not execute query: ERROR:  role "doomed_owner" does not exist`:                     false,
	} {
		if got := truncatedArchive(msg); got != want {
			t.Errorf("truncatedArchive(%q) = %v, want %v", msg, got, want)
		}
	}
}
