package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// snapWorld is upstream's "snapshots" acceptance scenario setting, with the
// sqlite-database module in place of mysql: a container file named
// sqlite-container given to dysnomia by path, and to dysnomia-snapshots by
// name.
type snapWorld struct {
	env                     []string
	state                   string
	container, comp, dbFile string
}

func newSnapWorld(t *testing.T) *snapWorld {
	t.Helper()
	w := &snapWorld{}
	w.env, w.state = StateEnv(t)
	root := t.TempDir()
	w.container = filepath.Join(root, "containers", "sqlite-container")
	w.dbFile = filepath.Join(root, "db", "testdb.sqlite")
	snapWrite(t, w.container, "type=sqlite-database\nsqliteDatabaseDir="+filepath.Dir(w.dbFile)+"\n")
	w.comp = filepath.Join(root, "pkgs", "testdb")
	snapWrite(t, filepath.Join(w.comp, "sqlite-databases", "init.sql"), "CREATE TABLE test (msg TEXT NOT NULL);\nINSERT INTO test VALUES ('Hello world');\n")
	return w
}

func snapWrite(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *snapWorld) activity(t *testing.T, op string) Result {
	t.Helper()
	return MustRun(t, w.env, "dysnomia", "--operation", op, "--component", w.comp, "--container", w.container)
}

func (w *snapWorld) snapshots(t *testing.T, args ...string) []string {
	t.Helper()
	r := MustRun(t, w.env, "dysnomia-snapshots", args...)
	return lines(r.Stdout)
}

func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// dumpOf decompresses every payload file of a snapshot directory.
func dumpOf(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := zstd.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(dec); err != nil {
			t.Fatalf("decompress %s: %v", e.Name(), err)
		}
		dec.Close()
		f.Close()
		all = append(all, buf.Bytes()...)
	}
	return all
}

// TestSnapshotsScenario is upstream's "snapshots" acceptance scenario.
func TestSnapshotsScenario(t *testing.T) {
	w := newSnapWorld(t)
	sq := func(stmt string) { sqliteQuery(t, w.dbFile, stmt) }
	latest := func() string {
		l := w.snapshots(t, "--query-latest", "--container", "sqlite-container", "--component", w.comp)
		if len(l) != 1 {
			t.Fatalf("--query-latest printed %v", l)
		}
		return l[0]
	}
	resolve := func(rel string) string {
		l := w.snapshots(t, "--resolve", rel)
		if len(l) != 1 {
			t.Fatalf("--resolve printed %v", l)
		}
		return l[0]
	}
	queryAll := func(extra ...string) []string {
		return w.snapshots(t, append([]string{"--query-all", "--container", "sqlite-container", "--component", w.comp}, extra...)...)
	}
	genDir := filepath.Join(w.state, "generations", "sqlite-container", "testdb")

	// 1. Three snapshots of different data.
	w.activity(t, "activate")
	w.activity(t, "snapshot")
	sq("INSERT INTO test VALUES ('Two')")
	w.activity(t, "snapshot")
	sq("INSERT INTO test VALUES ('Three')")
	w.activity(t, "snapshot")
	if got := queryAll(); len(got) != 3 {
		t.Fatalf("--query-all after three snapshots: %v", got)
	}
	if !bytes.Contains(dumpOf(t, resolve(latest())), []byte("Three")) {
		t.Error("the latest snapshot lacks Three")
	}
	w.activity(t, "snapshot") // unchanged
	if n := len(mustReadDir(t, genDir)); n != 3 {
		t.Errorf("%d generation links after an unchanged snapshot, want 3", n)
	}

	// 2. print-missing.
	if got := w.snapshots(t, "--print-missing", latest(), "sqlite-container/testdb/foo"); strings.Join(got, ",") != "sqlite-container/testdb/foo" {
		t.Errorf("--print-missing printed %v", got)
	}

	// 3. gc keeps the latest.
	w.snapshots(t, "--gc")
	if got := queryAll(); len(got) != 1 {
		t.Errorf("--query-all after --gc: %v", got)
	}
	three := latest()
	threeDir := resolve(three)
	if _, err := os.Stat(threeDir); err != nil {
		t.Fatal(err)
	}

	// 4. Copy the latest away, gc --keep 0, import the copy back.
	saved := filepath.Join(t.TempDir(), filepath.Base(threeDir))
	if out, err := exec.Command("cp", "-a", threeDir, saved).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	w.snapshots(t, "--gc", "--keep", "0")
	if got := queryAll(); len(got) != 0 {
		t.Errorf("--query-all after --gc --keep 0: %v", got)
	}
	w.snapshots(t, "--import", "-C", "sqlite-container", "-c", w.comp, saved)
	if got := latest(); got != three || !bytes.Contains(dumpOf(t, resolve(got)), []byte("Three")) {
		t.Errorf("after --import the latest is %s, want %s holding Three", got, three)
	}

	// 5. Four, then back to the state without it: a new generation
	// pointing at the old snapshot, which gc keeps.
	sq("INSERT INTO test VALUES ('Four')")
	w.activity(t, "snapshot")
	if got := queryAll(); len(got) != 2 {
		t.Errorf("--query-all after Four: %v", got)
	}
	sq("DELETE FROM test WHERE msg = 'Four'")
	w.activity(t, "snapshot")
	if got := queryAll(); len(got) != 3 || got[2] != three {
		t.Errorf("--query-all after removing Four: %v, want a third generation pointing at %s", got, three)
	}
	w.snapshots(t, "--gc")
	if got := latest(); got != three || bytes.Contains(dumpOf(t, resolve(got)), []byte("Four")) {
		t.Errorf("after gc the latest is %s", got)
	}

	// 6. Importing the stored latest path changes nothing.
	w.snapshots(t, "--import", "-C", "sqlite-container", "-c", w.comp, resolve(three))
	if got := queryAll(); len(got) != 1 || got[0] != three {
		t.Errorf("after re-importing the latest path: %v", got)
	}

	// 7. Check, then damage the latest dump.
	w.activity(t, "deactivate")
	queryAll("--check")
	dump := filepath.Join(resolve(three), mustReadDir(t, resolve(three))[0])
	os.WriteFile(dump, []byte("overwritten"), 0o644)
	r := Run(t, w.env, "dysnomia-snapshots", "--query-all", "--check")
	if r.Code != 65 || !strings.Contains(r.Stderr, "Checksum mismatch detected for snapshot: "+three) {
		t.Errorf("--query-all --check after damage: exit %d\n%s", r.Code, r.Stderr)
	}
}

// R2 through the binary: check names every damaged snapshot and says how
// to repair; restore and export refuse.
func TestSnapshotsDamage(t *testing.T) {
	w := newSnapWorld(t)
	w.activity(t, "activate")
	w.activity(t, "snapshot")
	first := MustRun(t, w.env, "dysnomia", "snapshots", "latest").Stdout
	sqliteQuery(t, w.dbFile, "INSERT INTO test VALUES ('Two')")
	w.activity(t, "snapshot")
	second := strings.TrimSpace(MustRun(t, w.env, "dysnomia", "snapshots", "latest").Stdout)
	first = strings.TrimSpace(first)

	for _, rel := range []string{first, second} {
		dir := filepath.Join(w.state, "snapshots", rel)
		f := filepath.Join(dir, mustReadDir(t, dir)[0])
		data, _ := os.ReadFile(f)
		data[len(data)/2] ^= 0x01
		os.WriteFile(f, data, 0o644)
	}
	r := Run(t, w.env, "dysnomia", "snapshots", "check")
	if r.Code != 65 || !strings.Contains(r.Stdout, first) || !strings.Contains(r.Stdout, second) ||
		!strings.Contains(r.Stdout, "dysnomia snapshots export") {
		t.Errorf("check: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = Run(t, w.env, "dysnomia", "snapshots", "check", "--json")
	var res struct {
		Problems int `json:"problems"`
		Findings []struct {
			Kind, Snapshot string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || res.Problems != 2 || r.Code != 65 {
		t.Errorf("check --json: exit %d, %v\n%s", r.Code, err, r.Stdout)
	}

	sqliteQuery(t, w.dbFile, "INSERT INTO test VALUES ('after')")
	r = Run(t, w.env, "dysnomia", "restore", "--component", w.comp, "--container", w.container)
	if r.Code == 0 {
		t.Errorf("restore of a damaged snapshot succeeded:\n%s", r.Stderr)
	}
	if got := sqliteQuery(t, w.dbFile); strings.Join(got, ",") != "Hello world,Two,after" {
		t.Errorf("the refused restore changed the database: %v", got)
	}
	r = Run(t, w.env, "dysnomia", "snapshots", "export")
	if r.Code != 65 || r.Stdout != "" {
		t.Errorf("export of damaged snapshots: exit %d, %d bytes out\n%s", r.Code, len(r.Stdout), r.Stderr)
	}
}

// Moving state between machines: export from one state directory, import
// into another, restore there.
func TestSnapshotsExportImport(t *testing.T) {
	a := newSnapWorld(t)
	a.activity(t, "activate")
	sqliteQuery(t, a.dbFile, "INSERT INTO test VALUES ('moved')")
	a.activity(t, "snapshot")
	stream := MustRun(t, a.env, "dysnomia", "snapshots", "export", "-C", "sqlite-container").Stdout

	b := newSnapWorld(t)
	r := RunStdin(t, b.env, stream, "dysnomia", "snapshots", "import")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "imported sqlite-container/testdb/") {
		t.Fatalf("import: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = RunStdin(t, b.env, stream, "dysnomia", "snapshots", "import")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "skipped sqlite-container/testdb/") {
		t.Errorf("second import: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	b.activity(t, "activate")
	b.activity(t, "restore")
	if got := sqliteQuery(t, b.dbFile); strings.Join(got, ",") != "Hello world,moved" {
		t.Errorf("restored on the receiver: %v", got)
	}
	// A garbled stream is refused with nothing visible.
	c := newSnapWorld(t)
	bad := []byte(stream)
	bad[bytes.LastIndex(bad, []byte("contents"))+8+8+20] ^= 0x01 // inside the payload
	r = RunStdin(t, c.env, string(bad), "dysnomia", "snapshots", "import")
	if r.Code == 0 {
		t.Errorf("import of a garbled stream succeeded")
	}
	if got := lines(MustRun(t, c.env, "dysnomia", "snapshots", "list").Stdout); len(got) != 0 {
		t.Errorf("a refused import left %v", got)
	}
}

// R4 through the binary: a writer that cannot get the lock in time exits
// 75 naming the holder.
func TestSnapshotsLocked(t *testing.T) {
	env, state := StateEnv(t)
	s := store.Open(state)
	unlock, err := s.Lock(context.Background(), "test holding the lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r := Run(t, env, "dysnomia", "--lock-timeout", "1s", "snapshots", "gc")
	if r.Code != 75 || !strings.Contains(r.Stderr, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(r.Stderr, "test holding the lock") ||
		!strings.Contains(r.Stderr, "waiting for the lock") {
		t.Errorf("gc while locked: exit %d\n%s", r.Code, r.Stderr)
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// export refuses to write a binary stream to a terminal, and import to
// read one from it (script(1) gives the command a pseudo-terminal).
func TestSnapshotsStreamRefusesTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("script(1) is required under CI (Debian package bsdutils): %v", err)
		}
		t.Skip("script(1) not installed (Debian package bsdutils)")
	}
	w := newSnapWorld(t)
	w.activity(t, "activate")
	w.activity(t, "snapshot")
	for _, verb := range []string{"export", "import"} {
		cmd := exec.Command(script, "-qec", filepath.Join(filepath.Dir(bin), "dysnomia")+" snapshots "+verb, "/dev/null")
		cmd.Env = withPath(w.env)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err == nil || !strings.Contains(out.String(), "refusing to use a terminal") {
			t.Errorf("snapshots %s on a terminal: %v\n%s", verb, err, out.String())
		}
	}
}
