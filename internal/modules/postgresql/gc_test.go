package postgresql

import (
	"context"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestCollectGarbageOnlyAfterDeactivate: gc of an active component keeps
// the database; after deactivate (twice: idempotent) gc drops it even with
// a session open, and removes the garbage mark. A near name survives.
func TestCollectGarbageOnlyAfterDeactivate(t *testing.T) {
	near := newFixture(t, "gcdb-other", helloWorld)
	near.dropAtEnd()
	near.must(module.Activate)
	f := newFixture(t, "gcdb", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)

	f.must(module.CollectGarbage)
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("gc of an active component changed it: %q", got)
	}
	f.must(module.Deactivate)
	f.must(module.Deactivate)
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("deactivate changed the data: %q", got)
	}
	open := f.srv.Connect(t, "gcdb")
	f.must(module.CollectGarbage)
	if f.exists() {
		t.Fatal("the database survived gc after deactivate")
	}
	if open.Ping(context.Background()) == nil {
		t.Error("a session of the dropped database is still alive")
	}
	k := store.Key{Container: ModuleType, Component: "gcdb"}
	if g, _ := f.store.IsGarbage(k); g {
		t.Error("garbage mark left after gc")
	}
	if !near.exists() {
		t.Fatal("gc of gcdb dropped gcdb-other")
	}
	f.must(module.CollectGarbage) // nothing left to do
}

// TestDeactivateNeverActivated is a no-op (upstream fails here).
func TestDeactivateNeverActivated(t *testing.T) {
	f := newFixture(t, "neveractive", nil)
	f.must(module.Deactivate)
	f.must(module.CollectGarbage)
}

// TestLockDuringRestore: lock, restore, activate and gc refuse while
// another session holds the database's restore lock (as a running restore
// does); with the lock released, lock succeeds and unlock is a no-op.
func TestLockDuringRestore(t *testing.T) {
	f := newFixture(t, "locked", helloWorld)
	f.dropAtEnd()
	f.must(module.Activate)
	f.must(module.Snapshot)
	f.must(module.Lock)
	f.must(module.Unlock)

	holder := f.srv.Connect(t, "postgres")
	if ok, err := lockRestore(context.Background(), holder, "locked", false); err != nil || !ok {
		t.Fatalf("take the restore lock: %v %v", ok, err)
	}
	f.srv.Psql(t, "postgres", "drop database locked") // activate must now want to create it
	for _, a := range []module.Activity{module.Lock, module.Restore, module.Activate, module.Snapshot} {
		err := f.run(a)
		if err == nil || !strings.Contains(err.Error(), "in progress") {
			t.Errorf("%s while a restore runs: %v; want a refusal", a, err)
		}
	}
	// Release the lock before closing: a closed session's locks go only
	// when its backend has exited, which the client does not wait for.
	if _, err := holder.Exec(context.Background(), "select pg_advisory_unlock_all()"); err != nil {
		t.Fatal(err)
	}
	holder.Close(context.Background())
	f.must(module.Restore)
	f.must(module.Lock)
}

// TestLockWithoutServer warns and succeeds: Disnix calls lock without the
// container properties, and there is no restore it could see.
func TestLockWithoutServer(t *testing.T) {
	f := newFixture(t, "noserver", nil)
	f.set("postgresqlRuntimeDir", t.TempDir())
	f.must(module.Lock)
	if !strings.Contains(f.rep.String(), "warning: lock noserver") {
		t.Fatalf("no warning:\n%s", f.rep)
	}
}
