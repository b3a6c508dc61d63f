package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// snapStore is a state directory with snapshots committed through the
// store API, and the environment that points the CLI at it.
type snapStore struct {
	*store.Store
	environ []string
}

func newSnapStore(t *testing.T) *snapStore {
	t.Helper()
	root := t.TempDir()
	s := store.Open(filepath.Join(root, "state"))
	return &snapStore{Store: s, environ: []string{"HOME=" + root, "DYSNOMIA_STATEDIR=" + s.Dir(), "NIX_STORE_DIR=/nix/store"}}
}

func (s *snapStore) commit(t *testing.T, k store.Key, text string) store.Committed {
	t.Helper()
	c, err := s.Commit(context.Background(), k, store.Meta{Module: "test"}, func(d *store.Dump) error {
		w, err := d.Create("dump.sql")
		if err != nil {
			return err
		}
		io.WriteString(w, text)
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *snapStore) run(t *testing.T, prog string, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, prog, s.environ, args...)
}

var testdb = store.Key{Container: "mysql-container", Component: "testdb"}

func TestSnapshotsListNumericOrder(t *testing.T) {
	s := newSnapStore(t)
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, s.commit(t, testdb, "state "+strconv.Itoa(i)+"\n").Rel())
	}
	other := s.commit(t, store.Key{Container: "postgresql-database", Component: "app"}, "app\n")

	out, _, code := s.run(t, "dysnomia-snapshots", "--query-all", "-C", "mysql-container", "-c", "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-testdb")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if diff := cmp.Diff(strings.Join(want, "\n")+"\n", out); diff != "" {
		t.Errorf("--query-all (-want +got):\n%s", diff)
	}
	out, _, _ = s.run(t, "dysnomia", "snapshots", "latest")
	if diff := cmp.Diff(want[11]+"\n"+other.Rel()+"\n", out); diff != "" {
		t.Errorf("latest (-want +got):\n%s", diff)
	}
	// A container given as a path is normalised like a component.
	out, _, _ = s.run(t, "dysnomia", "snapshots", "latest", "-C", "/etc/dysnomia/containers/mysql-container")
	if out != want[11]+"\n" {
		t.Errorf("latest -C <path>: %q", out)
	}

	out, _, _ = s.run(t, "dysnomia", "snapshots", "list", "--json", "-c", "testdb")
	var doc listJSON
	decodeStrict(t, out, &doc)
	rows := doc.Snapshots
	if doc.Version != 1 || len(rows) != 12 || rows[11].Generation != 12 || rows[11].ID != filepath.Base(want[11]) ||
		rows[11].Checksum != "sha256:"+rows[11].ID || rows[11].Module != "test" || rows[11].Path != filepath.Join(s.Dir(), "snapshots", want[11]) ||
		rows[11].Time == nil || rows[11].Size <= 0 || rows[11].DumpSize != int64(len("state 12\n")) {
		t.Errorf("list --json: %+v", doc)
	}
	// A missing store lists nothing and succeeds with the upstream tool
	// name, as upstream; the modern command names the directory it was
	// given, which is most likely mistyped.
	empty := newSnapStore(t)
	if out, errOut, code := empty.run(t, "dysnomia-snapshots", "--query-all"); out != "" || errOut != "" || code != 0 {
		t.Errorf("query of a missing store: %q %q %d", out, errOut, code)
	}
	if out, errOut, code := empty.run(t, "dysnomia", "snapshots", "list", "--json"); out != "" || code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Errorf("list --json of a missing store: %q %q %d", out, errOut, code)
	}
	if err := os.MkdirAll(empty.Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := empty.run(t, "dysnomia", "snapshots", "list", "--json"); out != "{\n  \"version\": 1,\n  \"snapshots\": []\n}\n" {
		t.Errorf("list --json of an empty store: %q", out)
	}
}

func TestSnapshotsCheckCommands(t *testing.T) {
	s := newSnapStore(t)
	a := s.commit(t, testdb, strings.Repeat("a\n", 500))
	s.commit(t, testdb, strings.Repeat("b\n", 500))
	if out, _, code := s.run(t, "dysnomia-snapshots", "--query-all", "--check"); code != 0 || len(strings.Fields(out)) != 2 {
		t.Errorf("--query-all --check of an intact store: exit %d, %q", code, out)
	}
	f := filepath.Join(s.SnapshotDir(a.Snapshot), "dump.sql.zst")
	data, _ := os.ReadFile(f)
	data[len(data)/2] ^= 1
	os.WriteFile(f, data, 0o644)
	os.WriteFile(filepath.Join(s.Dir(), "checksums", "mysql-container", "testdb", ".tmp-x-1"), nil, 0o644)

	_, errOut, code := s.run(t, "dysnomia-snapshots", "--query-all", "--check")
	if code != exitIntegrity || !strings.Contains(errOut, "Checksum mismatch detected for snapshot: "+a.Rel()+", we have: 'sha256:") {
		t.Errorf("--query-all --check: exit %d\n%s", code, errOut)
	}
	if _, _, code := s.run(t, "dysnomia-snapshots", "--query-latest", "--check"); code != 0 {
		t.Errorf("--query-latest --check (the latest is intact): exit %d", code)
	}

	out, _, code := s.run(t, "dysnomia", "snapshots", "check")
	if code != exitIntegrity || !strings.Contains(out, "damaged: checksum mismatch for snapshot "+a.Rel()) ||
		!strings.Contains(out, "dysnomia snapshots export "+a.Rel()) || !strings.Contains(out, "dysnomia snapshots check --repair") {
		t.Errorf("check: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "check --repair") {
		t.Errorf("check does not end with the repair command: %q", last)
	}
	out, _, code = s.run(t, "dysnomia", "snapshots", "check", "--repair", "--json")
	var res checkResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if code != exitIntegrity || res.Problems != 1 || len(res.Removed) != 1 || res.Checked != 2 {
		t.Errorf("check --repair --json: exit %d, %+v", code, res)
	}
	// Only the damaged snapshot is left to deal with.
	if _, _, code := s.run(t, "dysnomia", "snapshots", "check", "-c", "other"); code != 0 {
		t.Errorf("check of an empty selection: exit %d", code)
	}
}

func TestSnapshotsArguments(t *testing.T) {
	s := newSnapStore(t)
	c := s.commit(t, testdb, "x\n")
	tests := []struct {
		prog    string
		args    []string
		code    int
		stdout  string
		inError string
	}{
		{"dysnomia-snapshots", []string{"--print-missing", c.Rel(), "mysql-container/testdb/foo"}, 0, "mysql-container/testdb/foo\n", ""},
		{"dysnomia-snapshots", []string{"--print-missing"}, 0, "", ""},
		{"dysnomia-snapshots", []string{"--print-missing", "../../etc/passwd"}, 1, "", `snapshot "../../etc/passwd"`},
		{"dysnomia-snapshots", []string{"--resolve", c.Rel()}, 0, s.SnapshotDir(c.Snapshot) + "\n", ""},
		{"dysnomia-snapshots", []string{"--resolve", "a/../b"}, 1, "", "invalid name"},
		{"dysnomia-snapshots", []string{"--gc", "--keep", "x"}, 1, "", `--keep "x": want a non-negative number`},
		{"dysnomia-snapshots", []string{"--gc", "--keep", "-1"}, 1, "", `--keep "-1"`},
		{"dysnomia-snapshots", []string{"--import", "-c", "testdb", "/tmp/x"}, 1, "", "no container specified"},
		{"dysnomia-snapshots", []string{"--import", "-C", "c", "/tmp/x"}, 1, "", "no component specified"},
		{"dysnomia-snapshots", []string{"--import", "-C", "c", "-c", "comp"}, 0, "", ""},
		{"dysnomia-snapshots", []string{"--query-all", "-C", ".."}, 1, "", `--container ".."`},
		{"dysnomia", []string{"snapshots", "export", "-C", "x", c.Rel()}, 1, "", "not both"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := s.run(t, tt.prog, tt.args...)
			if code != tt.code || out != tt.stdout || !strings.Contains(errOut, tt.inError) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q", code, out, errOut, tt.code, tt.stdout, tt.inError)
			}
		})
	}
}

func TestSnapshotsGCAndAdd(t *testing.T) {
	s := newSnapStore(t)
	s.commit(t, testdb, "1\n")
	s.commit(t, testdb, "2\n")
	last := s.commit(t, testdb, "3\n")
	// A dry run tells and removes nothing.
	_, errOut, code := s.run(t, "dysnomia", "snapshots", "gc", "--dry-run")
	if code != 0 || !strings.Contains(errOut, "would remove old generation mysql-container/testdb/1 ") ||
		!strings.Contains(errOut, "would remove old snapshot mysql-container/testdb/") {
		t.Errorf("gc --dry-run: exit %d\n%s", code, errOut)
	}
	if out, _, _ := s.run(t, "dysnomia-snapshots", "--query-all"); strings.Count(out, "\n") != 3 {
		t.Errorf("after gc --dry-run: %q", out)
	}
	_, errOut, code = s.run(t, "dysnomia-snapshots", "--gc")
	if code != 0 || !strings.Contains(errOut, "removing old generation mysql-container/testdb/1 ") ||
		!strings.Contains(errOut, "removing old snapshot mysql-container/testdb/") {
		t.Errorf("--gc: exit %d\n%s", code, errOut)
	}
	if _, errOut, _ = s.run(t, "dysnomia", "snapshots", "gc", "--dry-run"); !strings.Contains(errOut, "dry run: nothing would be removed") {
		t.Errorf("gc --dry-run with nothing to do: %q", errOut)
	}
	if out, _, _ := s.run(t, "dysnomia-snapshots", "--query-all"); out != last.Rel()+"\n" {
		t.Errorf("after --gc: %q", out)
	}

	// add (upstream --import) of a directory, container given as a path
	// and component as a store path: both normalised.
	dir := filepath.Join(t.TempDir(), "upstream-id")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "dump.sql"), []byte("imported\n"), 0o644)
	_, errOut, code = s.run(t, "dysnomia-snapshots", "--import", "-C", "/etc/dysnomia/containers/mysql-container", "-c", "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-testdb", dir)
	if code != 0 {
		t.Fatalf("--import: exit %d\n%s", code, errOut)
	}
	if out, _, _ := s.run(t, "dysnomia-snapshots", "--query-latest"); out != "mysql-container/testdb/upstream-id\n" {
		t.Errorf("latest after --import: %q", out)
	}
}

func TestSnapshotsExportImport(t *testing.T) {
	a, b := newSnapStore(t), newSnapStore(t)
	c1 := a.commit(t, testdb, "one\n")
	c2 := a.commit(t, testdb, "two\n")
	var stream, errb bytes.Buffer
	if code := run(context.Background(), []string{"dysnomia", "snapshots", "export"}, strings.NewReader(""), &stream, &errb, a.environ); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, errb.String())
	}
	var out bytes.Buffer
	errb.Reset()
	if code := run(context.Background(), []string{"dysnomia", "snapshots", "import"}, bytes.NewReader(stream.Bytes()), &out, &errb, b.environ); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, errb.String())
	}
	want := []string{"imported " + c1.Rel(), "imported " + c2.Rel()}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if diff := cmp.Diff(sorted(want), sorted(got)); diff != "" {
		t.Errorf("import output (-want +got):\n%s", diff)
	}
	if latest, _, _ := b.run(t, "dysnomia", "snapshots", "latest"); latest == "" {
		t.Error("nothing in the receiving store")
	} else if strings.TrimSpace(latest) != c2.Rel() {
		t.Errorf("receiver's latest %q, want %s", latest, c2.Rel())
	}
	// Garbage on stdin: refused, nothing imported.
	c := newSnapStore(t)
	if code := run(context.Background(), []string{"dysnomia", "snapshots", "import"}, strings.NewReader("garbage"), &out, &errb, c.environ); code != exitError {
		t.Errorf("import of garbage: exit %d", code)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
