package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/influxtest"
)

func influxDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	return Run(t, env, "dysnomia", "--type", "influx-database", "--operation", op,
		"--component", comp, "--container", "influx-database", "--environment")
}

func influxMustDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	r := influxDisnix(t, env, op, comp)
	if r.Code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", op, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// influxPoints lists every cpu point of db as host=value, in time order.
func influxPoints(t *testing.T, srv *influxtest.Server, db string) string {
	t.Helper()
	var out []string
	for _, s := range srv.Query(t, db, `SELECT "host", "value" FROM "cpu"`) {
		for _, v := range s.Values {
			out = append(out, fmt.Sprintf("%v=%v", v[1], v[2]))
		}
	}
	return strings.Join(out, ",")
}

// TestInfluxDisnix runs the influx-database module through the built
// binary as Disnix calls it, with the properties in the environment, on a
// component whose name holds a quote and a space.
func TestInfluxDisnix(t *testing.T) {
	srv := influxtest.StartNew(t)
	name := `it's metrics`
	storeDir := t.TempDir()
	comp := filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-"+name)
	myWrite(t, filepath.Join(comp, "influx-databases", "init.influxql"), "# DDL\nCREATE DATABASE \"it's metrics\"\n\n# DML\n# CONTEXT-DATABASE: "+name+"\ncpu,host=serverA value=0.64 1000000000\n")
	env, _ := StateEnv(t)
	env = append(env, "NIX_STORE_DIR="+storeDir, "influxdbUsername=influxdb",
		fmt.Sprintf("influxdbHttpPort=%d", srv.HTTPPort), fmt.Sprintf("influxdbPort=%d", srv.RPCPort), "influxdbHost=127.0.0.1", "timeout=5")

	influxMustDisnix(t, env, "activate", comp)
	if got := influxPoints(t, srv, name); got != "serverA=0.64" {
		t.Fatalf("after activate: %q", got)
	}
	srv.Write(t, name, "cpu,host=serverB value=2 2000000000\n")
	influxMustDisnix(t, env, "snapshot", comp)
	influxMustDisnix(t, env, "snapshot", comp)
	q := MustRun(t, env, "dysnomia-snapshots", "--query-all", "--container", "influx-database", "--component", comp)
	if lines := strings.Split(strings.TrimSpace(q.Stdout), "\n"); len(lines) != 1 {
		t.Fatalf("an unchanged database made a new generation: %q", q.Stdout)
	}
	srv.Write(t, name, "cpu,host=serverC value=3 3000000000\n")
	influxMustDisnix(t, env, "restore", comp)
	if got := influxPoints(t, srv, name); got != "serverA=0.64,serverB=2" {
		t.Errorf("after restore: %q", got)
	}
	influxMustDisnix(t, env, "deactivate", comp)
	influxMustDisnix(t, env, "collect-garbage", comp)
	if srv.HasDatabase(t, name) {
		t.Error("the database survived deactivate and gc")
	}
}

// TestInfluxDisnixBadInit: a failing import file makes the binary exit
// non-zero naming the file and line, and leaves no database.
func TestInfluxDisnixBadInit(t *testing.T) {
	srv := influxtest.StartNew(t)
	storeDir := t.TempDir()
	comp := filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-bad")
	myWrite(t, filepath.Join(comp, "influx-databases", "init.influxql"), "# DDL\nCREATE DATABASE bad\n# DML\ncpu v=1i 1\ncpu v=\"text\" 2\n")
	env, _ := StateEnv(t)
	env = append(env, "NIX_STORE_DIR="+storeDir, fmt.Sprintf("influxdbHttpPort=%d", srv.HTTPPort), "influxdbHost=127.0.0.1")
	r := influxDisnix(t, env, "activate", comp)
	if r.Code == 0 || !strings.Contains(r.Stderr, "init.influxql: lines 4-5") {
		t.Fatalf("activate: exit %d\n%s", r.Code, r.Stderr)
	}
	if diff := cmp.Diff([]string(nil), srv.Databases(t)); diff != "" {
		t.Errorf("databases left (-want +got):\n%s", diff)
	}
}
