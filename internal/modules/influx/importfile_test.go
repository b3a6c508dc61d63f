package influx

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type rec struct {
	Kind   recordKind
	Text   string
	Line   int
	DB, RP string
}

func readAll(t *testing.T, in string) ([]rec, error) {
	t.Helper()
	r := newImportReader(strings.NewReader(in))
	var out []rec
	for {
		x, err := r.next()
		if err == io.EOF {
			return out, r.complete()
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec{x.kind, string(x.text), x.line, x.db, x.rp})
	}
}

// TestImportReader: sections, contexts, comments, and string fields that
// span lines (with what looks like comments and contexts inside).
func TestImportReader(t *testing.T) {
	in := "# header\n# DDL\nCREATE DATABASE x\n\n# DML\n# CONTEXT-DATABASE: x\n# CONTEXT-RETENTION-POLICY: a b\n" +
		"m,t=a\\ \"b f=\"one\n# two\n\\\"three\\\\\" 1\n" +
		"m f=1\n" +
		"m\\ x,k=v g=2i,s=\"a\\\"\nb\" 3\n" +
		endMarker + " 3" + endSuffix + "\n"
	got, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []rec{
		{statement, "CREATE DATABASE x", 3, "", ""},
		{point, "m,t=a\\ \"b f=\"one\n# two\n\\\"three\\\\\" 1", 8, "x", "a b"},
		{point, "m f=1", 11, "x", "a b"},
		{point, "m\\ x,k=v g=2i,s=\"a\\\"\nb\" 3", 12, "x", "a b"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestImportReaderErrors(t *testing.T) {
	for in, want := range map[string]string{
		"# DML\nm f=1\n": "no end marker",
		"# DML\nm f=1\n" + endMarker + " 0 points\n": "counts 0 points",
		"# DML\nm f=\"open\n":                        "no end marker",
		"m f=1\n":                                    "line 1",
		"# DML\n" + endMarker + " x points\n":        "malformed end marker",
	} {
		if _, err := readAll(t, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", in, err, want)
		}
	}
}

func TestAppendNameRefuses(t *testing.T) {
	for _, name := range []string{"", "a\nb", `ends\`, `a\,b`, `a\ b`} {
		if _, err := appendName(nil, name, tagEscapes, "tag value"); err == nil {
			t.Errorf("%q: no error", name)
		}
	}
	got, err := appendName(nil, `a b,c=d\e`, tagEscapes, "tag value")
	if err != nil || string(got) != `a\ b\,c\=d\e` {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestCreatedDatabase(t *testing.T) {
	for stmt, want := range map[string]string{
		"CREATE DATABASE testdb":                        "testdb",
		`create database "it's \"x\"" WITH DURATION 1d`: `it's "x"`,
		"CREATE DATABASE    spaced_1 WITH NAME x":       "spaced_1",
	} {
		got, ok := createdDatabase(stmt)
		if !ok || got != want {
			t.Errorf("%q: %q %v, want %q", stmt, got, ok, want)
		}
	}
	if _, ok := createdDatabase("CREATE RETENTION POLICY x ON y DURATION 1d REPLICATION 1"); ok {
		t.Error("a CREATE RETENTION POLICY taken as CREATE DATABASE")
	}
}
