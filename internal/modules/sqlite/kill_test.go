package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestMain lets the test binary act as a dysnomia process that a test kills:
// with SQLITE_TEST_CHILD=<activity> it runs that activity on the component
// SQLITE_TEST_COMPONENT of the container in SQLITE_TEST_DIR, with the state
// directory SQLITE_TEST_STATE, and exits.
func TestMain(m *testing.M) {
	if act := os.Getenv("SQLITE_TEST_CHILD"); act != "" {
		comp := os.Getenv("SQLITE_TEST_COMPONENT")
		req := &module.Request{
			Activity:  module.Activity(act),
			Component: module.Component{Name: config.NameOf(comp), Path: comp},
			Container: module.Container{Name: "sqlite-test", Arg: "sqlite-test", Type: Type,
				Properties: config.Properties{{Key: "sqliteDatabaseDir", Values: []string{os.Getenv("SQLITE_TEST_DIR")}}}},
			Store:  store.Open(os.Getenv("SQLITE_TEST_STATE")),
			Stdout: os.Stdout, Stderr: os.Stderr, Report: &recorder{},
		}
		if err := (Module{}).Run(context.Background(), req); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// killDuring starts activity act in a child process and kills it with
// SIGKILL once a file matching one of the globs exists and has grown.
func (e *env) killDuring(act module.Activity, comp string, globs ...string) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SQLITE_TEST_CHILD="+string(act), "SQLITE_TEST_COMPONENT="+comp,
		"SQLITE_TEST_DIR="+e.dir, "SQLITE_TEST_STATE="+e.store.Dir())
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			e.t.Fatalf("%s finished (%v) before it could be killed mid-way: make the database larger", act, err)
		default:
		}
		if grown(globs) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			e.t.Fatalf("%s: no work file matching %v appeared", act, globs)
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

func grown(globs []string) bool {
	for _, g := range globs {
		ms, _ := filepath.Glob(g)
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil && fi.Size() > 1<<20 {
				return true
			}
		}
	}
	return false
}

// A killed snapshot or restore leaves its work copy (as large as the
// database) behind; the next activity on the database, and gc or check
// --repair for the snapshot store's work directories, remove them, so
// repeated kills do not fill the disk.
func TestKilledWorkLeavesNothingForGood(t *testing.T) {
	e := newEnv(t)
	comp := e.component("big", "01.sql", "CREATE TABLE t (v BLOB);\n"+
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 6000) INSERT INTO t SELECT randomblob(4096) FROM n;\n")
	e.must(module.Activate, comp)
	e.must(module.Snapshot, comp) // so that restore has something to restore
	if _, err := e.store.GC(context.Background(), store.Selection{}, 1); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(e.store.Dir(), "tmp")
	for i := 0; i < 3; i++ {
		e.killDuring(module.Snapshot, comp, filepath.Join(tmp, "*", "*"))
		e.killDuring(module.Restore, comp, filepath.Join(e.dir, ".big.sqlite.restore-*"))
	}
	if got := e.leftovers(); len(got) == 0 {
		t.Fatalf("the killed restores left nothing next to the database; the test does not kill them mid-way")
	}
	// Any activity on the database clears what dead processes left there.
	e.rep.warns = nil
	e.must(module.Snapshot, comp)
	if got := e.leftovers(); len(got) != 0 {
		t.Errorf("after the next snapshot, still next to the database: %v", got)
	}
	if !strings.Contains(strings.Join(e.rep.warns, "\n"), "left over by an interrupted") {
		t.Errorf("the removal was not reported: %q", e.rep.warns)
	}
	// The killed snapshots' copies are in the store's work directory,
	// where check --repair (and gc) remove them.
	if ents, _ := os.ReadDir(tmp); len(ents) == 0 {
		t.Fatalf("the killed snapshots left nothing in %s; the test does not kill them mid-way", tmp)
	}
	if _, err := e.store.Repair(context.Background(), store.Selection{}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("after check --repair, %s still holds %d entries", tmp, len(ents))
	}
}

// Work files of a live process are not touched: two activities on one
// database may run at once (snapshot and restore of an application's
// database, say).
func TestLiveWorkIsKept(t *testing.T) {
	e := newEnv(t)
	comp := e.component("notes", "01.sql", "CREATE TABLE n (v TEXT);")
	e.must(module.Activate, comp)
	live := filepath.Join(e.dir, fmt.Sprintf(".notes.sqlite.restore-%d-123", os.Getppid()))
	dead := filepath.Join(e.dir, ".notes.sqlite.init-999999999-456")
	old := filepath.Join(e.dir, ".notes.sqlite.snapshot-789") // an earlier version's name: no pid
	for _, p := range []string{live, dead, dead + "-journal", old} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.must(module.Snapshot, comp)
	if got, want := sorted(e.leftovers()), []string{filepath.Base(live)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("left next to the database: %v, want %v", got, want)
	}
}
