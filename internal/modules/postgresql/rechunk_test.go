package postgresql

import (
	"bytes"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// rechunk merges the per-row data chunks of a real archive (written to a
// pipe, as snapshot does) and changes nothing else: pg_restore lists the
// same table of contents and writes the same script from both, large
// objects included, and the merged archive is smaller by the chunk
// headers it dropped. An archive cut short stays cut short; other input
// passes through unchanged.
func TestRechunk(t *testing.T) {
	f := newFixture(t, "rechunk", map[string]string{"a.sql": `
create table many (id int primary key, note text);
insert into many select g, 'row ' || g from generate_series(1, 20000) g;
create table empty_one (x int);
create view v as select count(*) from many;
create function f(int) returns int language sql as $$ select $1 + 1 $$;
comment on table many is 'rows; and more';
select lo_from_bytea(0, 'large object bytes');
create table after_blobs (y text);
insert into after_blobs values ('tail');
`})
	f.dropAtEnd()
	f.must(module.Activate)
	dir := publicDir(t)
	dump := func(args ...string) []byte {
		t.Helper()
		cmd := f.srv.Command("rechunk", "pg_dump", append([]string{"--format=custom", "--compress=0"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		return out
	}
	orig := dump()
	var merged bytes.Buffer
	if err := rechunk(&merged, bytes.NewReader(orig)); err != nil {
		t.Fatal(err)
	}
	if merged.Len() >= len(orig)-5*15000 {
		t.Errorf("merged archive has %d bytes, the original %d: the 20,000 row chunks were not merged", merged.Len(), len(orig))
	}
	restore := func(archive []byte, args ...string) string {
		t.Helper()
		p := filepath.Join(dir, "archive")
		if err := os.WriteFile(p, archive, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := f.srv.Command("", "pg_restore", append(args, p)...)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("pg_restore %v: %v: %s", args, err, stderr)
		}
		return string(out)
	}
	script := []string{"-f", "-"}
	if help, _ := f.srv.Command("", "pg_restore", "--help").Output(); bytes.Contains(help, []byte("--restrict-key")) {
		// Newer versions write a random \restrict line otherwise.
		script = append(script, "--restrict-key=dysnomiatest")
	}
	if a, b := restore(orig, script...), restore(merged.Bytes(), script...); a != b {
		t.Errorf("pg_restore writes another script from the merged archive (%d bytes, want %d)", len(b), len(a))
	}
	if a, b := restore(orig, "-l"), restore(merged.Bytes(), "-l"); a != b {
		t.Errorf("the table of contents differs:\n%s\nwant\n%s", b, a)
	}

	// Cut inside a data block: the copy ends in an error, not in a
	// complete-looking archive.
	cut := orig[:len(orig)-100]
	var out bytes.Buffer
	if err := rechunk(&out, bytes.NewReader(cut)); err == nil {
		t.Error("an archive cut inside its data was merged without an error")
	}
	// Not an archive, or a plain dump: copied as it is.
	for _, in := range [][]byte{[]byte("-- plain SQL\nselect 1;\n"), []byte("PGDMP"), dump("--schema-only")} {
		var got bytes.Buffer
		if err := rechunk(&got, bytes.NewReader(in)); err != nil && len(in) > 5 {
			t.Errorf("rechunk(%.20q…): %v", in, err)
		}
		if len(in) > 5 && !bytes.Equal(got.Bytes(), in) {
			t.Errorf("rechunk changed %.20q…", in)
		}
	}
}

// BenchmarkRechunk merges the archive in $RECHUNK_ARCHIVE (e.g. a pg_dump
// -Fc -Z0 of a pgbench database).
func BenchmarkRechunk(b *testing.B) {
	p := os.Getenv("RECHUNK_ARCHIVE")
	if p == "" {
		b.Skip("RECHUNK_ARCHIVE not set")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := rechunk(io.Discard, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
