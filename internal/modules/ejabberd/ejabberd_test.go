package ejabberd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/ejabberdtest"
)

// TestUpstreamScenario is upstream's ejabberd-dump test, with the checks
// upstream had to leave out: restore brings back exactly the snapshot's
// accounts.
func TestUpstreamScenario(t *testing.T) {
	node := ejabberdtest.Start(t)
	initial := initialDump(t, node)
	comp := filepath.Join(t.TempDir(), "ejabberd dump's file")
	writeFile(t, comp, initial)
	f := newFixture(t, comp, true)

	f.must(module.Activate)
	if !f.password("admin", "admin") {
		t.Fatalf("after activate: no admin with its password; users %q", f.users())
	}
	f.node.Ctl(t, "change_password", "admin", ejabberdtest.Host, "changed")
	f.must(module.Activate) // must not load the dump again
	if !f.password("admin", "changed") {
		t.Fatal("a second activate loaded the dump again")
	}
	f.must(module.Snapshot)
	f.must(module.Snapshot)
	if n := len(f.generations()); n != 1 {
		t.Fatalf("generations after two snapshots of the same data = %d, want 1", n)
	}
	f.node.Ctl(t, "register", "newuser", ejabberdtest.Host, "newuser")
	f.must(module.Snapshot)
	gens := f.generations()
	if len(gens) != 2 {
		t.Fatalf("generations after a change = %d, want 2", len(gens))
	}

	f.must(module.CollectGarbage)
	if !f.password("newuser", "newuser") {
		t.Fatal("gc of an active component changed the data")
	}
	f.must(module.Deactivate)
	f.must(module.Deactivate)
	f.must(module.CollectGarbage)
	if got := f.users(); got != "" {
		t.Fatalf("users after deactivate and gc: %q", got)
	}
	f.must(module.Activate)
	if got := f.users(); got != "admin" {
		t.Fatalf("activate after gc: users %q, want the initial dump's", got)
	}

	f.node.Ctl(t, "register", "later", ejabberdtest.Host, "x")
	f.must(module.Restore)
	if got := f.users(); got != "admin,newuser" {
		t.Errorf("after restore: users %q, want admin,newuser", got)
	}
	if !f.password("admin", "changed") {
		t.Error("after restore: admin's password is not the snapshot's")
	}
	f.must(module.Snapshot)
	if after := f.generations(); len(after) != 2 || after[1].Snapshot != gens[1].Snapshot {
		t.Errorf("a snapshot of the restored data is a new one: %v, want %v", after, gens)
	}
}

// TestRestoreExact: the restored node's own dump holds the records of the
// snapshot and nothing else, whatever happened in between.
func TestRestoreExact(t *testing.T) {
	f := newFixture(t, t.TempDir(), true)
	f.must(module.Activate)
	for _, u := range []string{"alice", "bob"} {
		f.node.Ctl(t, "register", u, ejabberdtest.Host, u+"-pw")
	}
	f.node.Ctl(t, "set_vcard", "alice", ejabberdtest.Host, "FN", "Alice \"Q\" O'Hara. % not a comment")
	f.must(module.Snapshot)
	sn := f.generations()[0].Snapshot
	want := f.payload(sn)

	f.node.Ctl(t, "unregister", "bob", ejabberdtest.Host)
	f.node.Ctl(t, "register", "carol", ejabberdtest.Host, "c")
	f.node.Ctl(t, "set_vcard", "alice", ejabberdtest.Host, "FN", "changed")
	f.must(module.Restore)

	d, err := parseDump(strings.NewReader(string(rawDump(t, f.node))))
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	d.write(&got)
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("(-snapshot +restored node):\n%s", diff)
	}
	if !strings.Contains(want, `O'Hara. % not a comment`) {
		t.Errorf("the vCard text is not in the snapshot:\n%s", want)
	}
}

// TestComponentDirectory: a component directory's ejabberd-dump/ files
// load as one; names with quotes and spaces are fine.
func TestComponentDirectory(t *testing.T) {
	node := ejabberdtest.Start(t)
	a := initialDump(t, node, "alice:a")
	b := initialDump(t, node, "bob:b")
	comp := filepath.Join(t.TempDir(), `it's a "component"`)
	writeFile(t, filepath.Join(comp, DumpDir, "1 first"), a)
	writeFile(t, filepath.Join(comp, DumpDir, "2 second's"), b)
	f := newFixture(t, comp, true)
	f.must(module.Activate)
	if got := f.users(); got != "alice,bob" || !f.password("bob", "b") {
		t.Errorf("users = %q", got)
	}
}

// TestFailingInitDump: a dump that does not read, or that the node cannot
// load, loads nothing and does not mark the component active.
func TestFailingInitDump(t *testing.T) {
	node := ejabberdtest.Start(t)
	node.Reset(t)
	good := initialDump(t, node) // the node's own layout
	canonical := initialDump(t, node, "alice:a")
	badRecord := string(good) + "{passwd,{<<\"mallory\">>,<<\"localhost\">>},<<\"pw\">>,extra}.\n"
	for name, c := range map[string]struct {
		dump, want string
	}{
		"cut off":           {string(good[:len(good)-20]), "cut off"},
		"canonical cut off": {string(canonical[:len(canonical)-20]), "cut off"},
		"no header":         {"{passwd,{<<\"x\">>,<<\"localhost\">>},<<\"y\">>}.\n", "does not start with {tables"},
		"wrong record":      {badRecord, "nothing was loaded"},
	} {
		t.Run(name, func(t *testing.T) {
			comp := filepath.Join(t.TempDir(), "bad dump")
			writeFile(t, comp, []byte(c.dump))
			f := newFixture(t, comp, false)
			err := f.run(module.Activate)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("activate: %v, want an error containing %q", err, c.want)
			}
			if name != "wrong record" && !strings.Contains(err.Error(), "bad dump") {
				t.Errorf("the error does not name the file: %v", err)
			}
			if got := f.users(); got != "" {
				t.Errorf("users after a failed activation: %q", got)
			}
			if active, _ := f.store.IsActive(f.key()); active {
				t.Error("marked active")
			}
		})
	}
}

// TestRestoreRefusesBadSnapshot: a cut-off or damaged snapshot is refused
// before the node is touched.
func TestRestoreRefusesBadSnapshot(t *testing.T) {
	f := newFixture(t, t.TempDir(), true)
	f.must(module.Activate)
	f.node.Ctl(t, "register", "keep", ejabberdtest.Host, "k")
	f.must(module.Snapshot)
	full := f.payload(f.generations()[0].Snapshot)
	cut := full[:strings.LastIndex(full, endMarker)]
	for name, damage := range map[string]bool{"cut off": false, "damaged": true} {
		t.Run(name, func(t *testing.T) {
			res, err := f.store.Commit(context.Background(), f.key(), store.Meta{Module: Type}, func(d *store.Dump) error {
				w, _ := d.Create(DumpFile)
				w.Write([]byte(strings.Replace(cut, "keep", "gone", -1)))
				return w.Close()
			})
			if err != nil {
				t.Fatal(err)
			}
			if damage {
				p := filepath.Join(f.store.SnapshotDir(res.Snapshot), DumpFile+".zst")
				os.Chmod(p, 0o644)
				data, _ := os.ReadFile(p)
				data[len(data)/2] ^= 0x11
				os.WriteFile(p, data, 0o644)
			}
			err = f.run(module.Restore)
			want := "cut off"
			if damage {
				want = "checksum mismatch"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("restore: %v, want %q", err, want)
			}
			var ie *store.IntegrityError
			if damage != errors.As(err, &ie) {
				t.Errorf("integrity error %v, want %v", errors.As(err, &ie), damage)
			}
			if got := f.users(); got != "keep" {
				t.Errorf("a refused restore changed the node: users %q", got)
			}
		})
	}
}

// TestWaitTimeout: a node that does not exist is waited for timeout
// seconds, no longer, although each ejabberdctl call takes a while.
func TestWaitTimeout(t *testing.T) {
	f := newFixture(t, t.TempDir(), false)
	f.set("ejabberdNode", "nosuchnode@localhost")
	f.set("timeout", "3")
	start := time.Now()
	err := f.run(module.Snapshot)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "not ready within 3s") {
		t.Fatalf("snapshot: %v", err)
	}
	if took > 4*time.Second {
		t.Errorf("waited %s, want at most 3s and a little", took)
	}
}

// TestBadSettings: bad properties are errors naming them.
func TestBadSettings(t *testing.T) {
	for key, val := range map[string]string{
		"ejabberdUser":      "no-such-user-dysnomia",
		"timeout":           "0",
		"ejabberdConfigDir": "relative",
		"ejabberdSpoolDir":  "relative",
		"ejabberdctl":       "ejabberdctl",
	} {
		f := newFixture(t, t.TempDir(), false)
		f.set(key, val)
		if err := f.run(module.Activate); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v, want an error naming the property", key, val, err)
		}
	}
}

// TestStaleWorkDir: a work directory left by a killed run is removed by the
// next one; a run leaves none of its own.
func TestStaleWorkDir(t *testing.T) {
	f := newFixture(t, t.TempDir(), false)
	stale := filepath.Join(f.node.SpoolDir, workPrefix+"999999999-x")
	os.Mkdir(stale, 0o700)
	f.must(module.Activate)
	f.must(module.Snapshot)
	entries, _ := os.ReadDir(f.node.SpoolDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), workPrefix) {
			t.Errorf("work directory %s left", e.Name())
		}
	}
	if !strings.Contains(f.rep.String(), "interrupted") {
		t.Errorf("no warning:\n%s", f.rep)
	}
}
