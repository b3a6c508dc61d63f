package postgresql

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

func requestWith(props map[string]string) *module.Request {
	var ps config.Properties
	for k, v := range props {
		ps.Set(config.Property{Key: k, Values: []string{v}})
	}
	return &module.Request{
		Component: module.Component{Name: "app", Path: "/nonexistent/app"},
		Container: module.Container{Name: "pg", Type: ModuleType, Properties: ps},
	}
}

func TestSettingsDefaults(t *testing.T) {
	s, err := loadSettings(requestWith(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &settings{User: "postgres", Owner: "postgres", Port: 5432, RuntimeDir: "/run/postgresql", Timeout: 10 * time.Second, RestoreJobs: 1, RestoreMemory: "256MB"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	if s.host() != "/run/postgresql" || s.where() != "/run/postgresql/.s.PGSQL.5432" {
		t.Fatalf("host %q where %q", s.host(), s.where())
	}
	for v, want := range map[string]string{"1GB": "1GB", "default": ""} {
		s, err := loadSettings(requestWith(map[string]string{"postgresqlRestoreMemory": v}))
		if err != nil || s.RestoreMemory != want {
			t.Errorf("postgresqlRestoreMemory=%s: %q, %v; want %q", v, s.RestoreMemory, err, want)
		}
	}
	// An empty username gets the documented default (upstream ran as root).
	s, _ = loadSettings(requestWith(map[string]string{"postgresqlUsername": ""}))
	if s.User != "postgres" {
		t.Fatalf("empty postgresqlUsername gives %q", s.User)
	}
	s, _ = loadSettings(requestWith(map[string]string{"postgresqlHost": "db.example.org", "postgresqlPort": "6543"}))
	if s.socketDir() != "" || s.where() != "db.example.org:6543" {
		t.Fatalf("TCP host: socketDir %q where %q", s.socketDir(), s.where())
	}
}

func TestSettingsErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"postgresqlPort": "x"}, "postgresqlPort"},
		{map[string]string{"postgresqlPort": "70000"}, "postgresqlPort"},
		{map[string]string{"timeout": "-1"}, "timeout"},
		{map[string]string{"postgresqlRuntimeDir": "run/postgresql"}, "postgresqlRuntimeDir"},
		{map[string]string{"postgresqlEncoding": "UTF8'; drop"}, "postgresqlEncoding"},
		{map[string]string{"postgresqlOwner": strings.Repeat("o", 64)}, "postgresqlOwner"},
		{map[string]string{"postgresqlRestoreJobs": "0"}, "postgresqlRestoreJobs"},
		{map[string]string{"postgresqlRestoreMemory": "1 GB"}, "postgresqlRestoreMemory"},
		{map[string]string{"postgresqlRestoreMemory": "-c fsync=off"}, "postgresqlRestoreMemory"},
		{map[string]string{"postgresqlPasswordFile": missing}, "postgresqlPasswordFile"},
		{map[string]string{"postgresqlPasswordFile": empty}, "postgresqlPasswordFile"},
	} {
		_, err := loadSettings(requestWith(tc.props))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "container pg") {
			t.Errorf("%v: error %v; want one naming the container and %s", tc.props, err, tc.want)
		}
	}
}

// TestLongName is refused before anything happens: the server would
// truncate it.
func TestLongName(t *testing.T) {
	req := requestWith(nil)
	req.Activity = module.Activate
	req.Component.Name = strings.Repeat("n", 64)
	err := Module{}.Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "at most 63 bytes") {
		t.Fatalf("error = %v", err)
	}
}

func TestQuoting(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:      `E'plain'`,
		`it's`:       `E'it''s'`,
		`back\slash`: `E'back\\slash'`,
	} {
		if got := literal(in); got != want {
			t.Errorf("literal(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`weird db`: `--dbname=dbname='weird db'`,
		`a'b\c=d`:  `--dbname=dbname='a\'b\\c=d'`,
	} {
		if got := dbArg(in); got != want {
			t.Errorf("dbArg(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestNamesNeedingQuotes takes databases whose names need quoting through
// the whole life cycle.
func TestNamesNeedingQuotes(t *testing.T) {
	for _, name := range []string{"weird db", "with-dash", `quo"te's`, "Upper Case", `semi;colon\back`} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, name, helloWorld)
			f.dropAtEnd()
			f.must(module.Activate)
			if !f.exists() {
				t.Fatalf("database %q not created; have %v", name, f.srv.Databases(t))
			}
			f.must(module.Activate)
			f.must(module.Snapshot)
			f.query("insert into test values ('later')")
			f.must(module.Restore)
			if got := f.query("select count(*) from test"); got != "1" {
				t.Fatalf("rows after restore = %s, want 1", got)
			}
			f.must(module.Deactivate)
			f.must(module.CollectGarbage)
			if f.exists() {
				t.Fatal("database survived gc")
			}
		})
	}
}

// TestWaitForServer gives up after the timeout with a clear error, having
// reported that it waits.
func TestWaitForServer(t *testing.T) {
	f := newFixture(t, "waiting", nil)
	f.set("postgresqlRuntimeDir", publicDir(t))
	f.set("timeout", "2")
	err := f.run(module.Activate)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 2s") {
		t.Fatalf("error = %v", err)
	}
	if !strings.Contains(f.rep.String(), "waiting for PostgreSQL at") {
		t.Fatalf("no progress reported:\n%s", f.rep)
	}
}

// TestWaitForStartingServer: activate run while the server is down waits
// for it, reporting that it does, and succeeds once it is up.
func TestWaitForStartingServer(t *testing.T) {
	srv := pgtest.StartNew(t, pgtest.Options{})
	f := &fixture{t: t, srv: srv, store: store.Open(t.TempDir()),
		comp: module.Component{Name: "latecomer", Path: t.TempDir()}, props: srv.Properties(), rep: &recorder{}}
	writeScripts(t, f.comp.Path, helloWorld)
	f.set("timeout", "120")
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	resumed := make(chan error, 1)
	go func() {
		// Come back once activate has reported that it waits.
		for !strings.Contains(f.rep.String(), "waiting for PostgreSQL") {
			time.Sleep(20 * time.Millisecond)
		}
		resumed <- srv.Resume()
	}()
	f.must(module.Activate)
	if err := <-resumed; err != nil {
		t.Fatal(err)
	}
	if got := f.query("select msg from test"); got != "Hello world" {
		t.Fatalf("rows = %q", got)
	}
}

// TestPasswordAuthentication: a role that is no OS user logs in with the
// password from postgresqlPasswordFile (never on a command line); a wrong
// password fails at once, without waiting for the timeout.
func TestPasswordAuthentication(t *testing.T) {
	srv := pgtest.StartNew(t, pgtest.Options{HBA: []string{"local all app_pw scram-sha-256"}})
	srv.Psql(t, "postgres", "create role app_pw login createdb password 'sesame'")
	f := &fixture{t: t, srv: srv, store: store.Open(t.TempDir()),
		comp: module.Component{Name: "pwdb", Path: t.TempDir()}, props: srv.Properties(), rep: &recorder{}}
	writeScripts(t, f.comp.Path, helloWorld)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("sesame\n"), 0o600)
	f.set("postgresqlUsername", "app_pw")
	f.set("postgresqlPasswordFile", pw)
	f.set("timeout", "30")
	f.must(module.Activate)
	f.must(module.Snapshot)
	f.must(module.Restore)
	if got := srv.Psql(t, "pwdb", "select tableowner from pg_tables where tablename = 'test'"); got != "app_pw" {
		t.Fatalf("table owner = %q", got)
	}

	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	f.rep = &recorder{}
	err := f.run(module.Snapshot)
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(f.rep.String(), "sesame") {
		t.Fatalf("a password appears in a message: %v\n%s", err, f.rep)
	}
	if strings.Contains(f.rep.String(), "waiting") {
		t.Errorf("a refused login was retried:\n%s", f.rep)
	}
}

func TestShellEnv(t *testing.T) {
	req := requestWith(map[string]string{"postgresqlPort": "5433", "postgresqlUsername": "app"})
	env, err := Module{}.ShellEnv(req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PGDATABASE=app", "PGHOST=/run/postgresql", "PGPORT=5433", "PGUSER=app"}
	slices.Sort(env)
	if diff := cmp.Diff(want, env); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	var stderr strings.Builder
	req.Stderr = &stderr
	req.Activity = module.Shell
	if err := (Module{}).Run(context.Background(), req); err != nil || !strings.Contains(stderr.String(), "psql") {
		t.Fatalf("shell help: %v %q", err, stderr.String())
	}
}
