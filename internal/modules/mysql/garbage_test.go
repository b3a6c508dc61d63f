package mysql

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func TestCollectGarbageOnlyAfterDeactivate(t *testing.T) {
	e := newEnv(t, "gc-db", helloScripts)
	key := store.Key{Container: Type, Component: e.name}

	// Never activated: deactivate and gc do nothing, even to a database
	// of that name made by someone else.
	e.exec("CREATE DATABASE $db")
	e.must(module.Deactivate)
	e.must(module.CollectGarbage)
	if !e.exists() {
		t.Fatal("gc dropped a database that was never activated")
	}
	e.exec("DROP DATABASE $db")

	e.must(module.Activate)
	e.must(module.CollectGarbage)
	if !e.exists() {
		t.Fatal("gc dropped an active database")
	}
	e.must(module.Deactivate)
	if !e.exists() {
		t.Fatal("deactivate dropped the database")
	}
	if g, _ := e.store.IsGarbage(key); !g {
		t.Fatal("deactivate did not mark the component as garbage")
	}
	// A work database left by a killed restore goes with it.
	stale := "dysnomia-restore-" + tag(e.name) + "-deadbeef"
	e.srv.Exec(t, "CREATE DATABASE "+quoteIdent(stale))
	e.must(module.CollectGarbage)
	if e.exists() {
		t.Fatal("gc after deactivate kept the database")
	}
	if e.srv.HasDatabase(t, stale) {
		t.Errorf("gc kept the stale work database %q", stale)
	}
	if g, _ := e.store.IsGarbage(key); g {
		t.Errorf("gc did not remove the garbage mark")
	}
	// Re-activation after gc starts from the init scripts.
	e.must(module.Activate)
	if got := e.rows("SELECT COUNT(*) FROM $db.test"); got[0][0] != "2" {
		t.Errorf("rows after re-activation = %v, want 2", got)
	}
}

func TestLock(t *testing.T) {
	e := newEnv(t, "lock-db", helloScripts)
	e.must(module.Activate)
	e.must(module.Lock)
	e.must(module.Unlock)

	// Another process (a restore) holds the component's named lock.
	ctx := context.Background()
	conn, err := e.srv.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", lockName(e.name)).Scan(&got); err != nil || got != 1 {
		t.Fatalf("GET_LOCK: %v, %d", err, got)
	}
	if err := e.run(module.Lock); err == nil || !strings.Contains(err.Error(), "refusing to lock") {
		t.Errorf("lock while a restore runs: %v; want a refusal", err)
	}
	e.must(module.Snapshot)
	e.set("timeout", "1")
	if err := e.run(module.Restore); err == nil || !strings.Contains(err.Error(), "another dysnomia process") {
		t.Errorf("restore while another holds the lock: %v; want a refusal", err)
	}
	conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", lockName(e.name))
	e.must(module.Lock)
	e.must(module.Restore)

	// With the server down nothing can be restoring: lock succeeds.
	e.set("mysqlSocket", t.TempDir()+"/down.sock")
	e.must(module.Lock)
}

func TestShell(t *testing.T) {
	e := newEnv(t, "shell db", helloScripts)
	e.must(module.Activate)
	// The help's command, run in the session, reaches the database.
	req := e.request(module.Shell)
	if err := (Module{}).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	help := e.stderr.String()
	_, after, ok := strings.Cut(help, "Connect with:\n")
	connect, _, _ := strings.Cut(strings.TrimSpace(after), "\n")
	if !ok || !strings.Contains(connect, "'shell db'") || !strings.Contains(connect, e.srv.Socket) {
		t.Fatalf("shell help has no command for the database:\n%s", help)
	}
	e.stderr.Reset()
	req = e.request(module.Shell)
	req.Command = connect + ` --batch --skip-column-names -e 'SELECT COUNT(*) FROM test; SELECT @@socket'`
	req.Env = os.Environ()
	var out bytes.Buffer
	req.Stdout = &out
	if err := module.RunShell(context.Background(), req, Module{}); err != nil {
		t.Fatalf("shell: %v\n%s", err, e.stderr.String())
	}
	if got := strings.Fields(out.String()); len(got) != 2 || got[0] != "2" || got[1] != e.srv.Socket {
		t.Errorf("%s in the shell printed %q, want 2 and the socket", connect, out.String())
	}
	env, _ := Module{}.ShellEnv(req)
	if len(env) != 1 || env[0] != "MYSQL_UNIX_PORT="+e.srv.Socket {
		t.Errorf("ShellEnv = %q", env)
	}
}
