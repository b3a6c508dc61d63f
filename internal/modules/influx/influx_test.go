package influx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/influxtest"
)

// TestUpstreamScenario is upstream's influx-database test, plus the
// unchanged-snapshot check upstream could not make.
func TestUpstreamScenario(t *testing.T) {
	f := newFixture(t, "testdb", map[string]string{"testdb.influxql": upstreamTestdb})
	f.must(module.Activate)
	if got := f.hosts(); got != "serverA" {
		t.Fatalf("after activate: %q", got)
	}
	f.must(module.Activate)
	if got := f.hosts(); got != "serverA" {
		t.Fatalf("after a second activate: %q", got)
	}
	f.must(module.Snapshot)
	f.must(module.Snapshot)
	if n := len(f.generations()); n != 1 {
		t.Fatalf("generations after two snapshots of unchanged data = %d, want 1", n)
	}
	f.srv.Write(t, "testdb", "cpu,host=serverB,region=us_east value=0.5 1700000000000000000\n")
	f.must(module.Snapshot)
	gens := f.generations()
	if len(gens) != 2 {
		t.Fatalf("generations after a write = %d, want 2", len(gens))
	}
	want := f.state()

	f.must(module.CollectGarbage)
	if got := f.hosts(); got != "serverB,serverA" {
		t.Fatalf("gc while active changed the data: %q", got)
	}
	f.must(module.Deactivate)
	f.must(module.Deactivate)
	f.must(module.CollectGarbage)
	if f.srv.HasDatabase(t, "testdb") {
		t.Fatal("the database survived deactivate and gc")
	}
	f.must(module.Activate)
	if got := f.hosts(); got != "serverA" {
		t.Fatalf("activate after gc: %q", got)
	}
	f.must(module.Restore)
	if diff := cmp.Diff(want, f.state()); diff != "" {
		t.Errorf("after restore (-snapshot +restored):\n%s", diff)
	}
	f.must(module.Snapshot)
	if after := f.generations(); len(after) != 2 || after[1].Snapshot != gens[1].Snapshot {
		t.Errorf("a snapshot of the restored data is a new one: %v, want %v", after, gens)
	}
}

// hard is data that exercises the export's encoding: every field type,
// strings with quotes, backslashes and line breaks, names with spaces,
// commas, equals signs and quotes, tags missing on some points, two
// retention policies and a continuous query. With multiline, a string
// value with line breaks too (which influx -import cannot read).
func hard(t *testing.T, f *fixture, multiline bool) {
	db := f.comp.Name
	q := func(s string) { f.srv.Query(t, db, s) }
	q(`CREATE RETENTION POLICY "short term" ON ` + influxtest.Ident(db) + ` DURATION 0s REPLICATION 1 SHARD DURATION 2h`)
	q(`CREATE CONTINUOUS QUERY "it's cq" ON ` + influxtest.Ident(db) + ` BEGIN SELECT mean("value") INTO "short term"."means" FROM "cpu" GROUP BY time(1h), * END`)
	if multiline {
		f.srv.Write(t, db, "cpu,host=nl msg=\"first line\nsecond, line = \\\"x\\\" # not a comment\n# CONTEXT-DATABASE: no\" 1434055562000000003\n")
	}
	f.srv.Write(t, db, strings.Join([]string{
		`cpu,host=a\ b,region=us\,west\=1 value=0.64,count=3i,msg="he said \"hi\"\nnext line \\ back\\",ok=true 1434055562000000000`,
		`cpu,host=c value=1,count=-9223372036854775808i 1434055562000000001`,
		`cpu,host=c value=1e-300 1434055562000000002`,
		`m\,with\ comma,"quoted\ tag"=x v="",w=false 5`,
		`ünïcode,☃=❄ "f\ k"=1.5,f\=k=2i,back\slash=1 -1000`,
	}, "\n")+"\n")
	resp := f.srv.Query(t, db, "SELECT * FROM cpu")
	if len(resp) == 0 {
		t.Fatal("no data written")
	}
	// Points in the other retention policy, beyond one chunk and one batch.
	var lines []string
	for i := 0; i < 12000; i++ {
		lines = append(lines, fmt.Sprintf("load,shard=s%d n=%di,x=%d.25 %d", i%7, i, i, int64(1600000000000000000)+int64(i)*1000000000))
	}
	body := strings.Join(lines, "\n") + "\n"
	if err := writeRP(f, db, "short term", body); err != nil {
		t.Fatal(err)
	}
}

func writeRP(f *fixture, db, rp, body string) error {
	c := &client{base: f.srv.URL(), http: http.DefaultClient}
	return c.write(context.Background(), db, rp, []byte(body))
}

// TestRoundTrip: restore gives back exactly what the server reported at
// snapshot time, after every kind of change; and the same data gives the
// same snapshot.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"round trip", `it's "quoted"`} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, name, nil)
			f.must(module.Activate)
			hard(t, f, true)
			f.must(module.Snapshot)
			want := f.state()
			sn := f.generations()[0].Snapshot
			dump := f.payload(sn)
			if !strings.HasSuffix(dump, endMarker+" 12006"+endSuffix+"\n") {
				t.Errorf("dump does not end with its marker:\n…%s", dump[max(0, len(dump)-200):])
			}

			db := f.comp.Name
			f.srv.Write(t, db, "cpu,host=z value=9 1434055562000000009\nnewm v=1 7\n")
			f.srv.Query(t, db, `DROP RETENTION POLICY "short term" ON `+influxtest.Ident(db))
			f.srv.Query(t, db, `CREATE RETENTION POLICY "extra" ON `+influxtest.Ident(db)+` DURATION 24h REPLICATION 1`)
			f.must(module.Restore)
			if diff := cmp.Diff(want, f.state()); diff != "" {
				t.Errorf("(-snapshot +restored):\n%s", diff)
			}
			f.must(module.Snapshot)
			if gens := f.generations(); len(gens) != 1 {
				t.Errorf("snapshot after restore made generation %d: the export is not stable", len(gens))
			}
		})
	}
}

// TestImportFileByInflux: a snapshot's dump is an import file the influx
// command loads as it is (unless a string value has a line break: influx
// -import reads line by line).
func TestImportFileByInflux(t *testing.T) {
	influxCLI, err := exec.LookPath("influx")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("influx not found (CI=true; apt-get install influxdb-client)")
		}
		t.Skip("influx not found")
	}
	f := newFixture(t, "cli import", nil)
	f.must(module.Activate)
	hard(t, f, false)
	f.must(module.Snapshot)
	want := f.state()
	file := filepath.Join(t.TempDir(), "dump.influx")
	os.WriteFile(file, []byte(f.payload(f.generations()[0].Snapshot)), 0o644)
	f.srv.Query(t, "", "DROP DATABASE "+influxtest.Ident(f.comp.Name))
	out, err := exec.Command(influxCLI, "-host", "127.0.0.1", "-port", fmt.Sprint(f.srv.HTTPPort), "-import", "-path", file, "-precision", "ns").CombinedOutput()
	if err != nil {
		t.Fatalf("influx -import: %v\n%s", err, out)
	}
	if diff := cmp.Diff(want, f.state()); diff != "" {
		t.Errorf("(-snapshot +imported by influx):\n%s", diff)
	}
}

// TestFailingInit: bad import files create nothing, and the error names
// the file and line.
func TestFailingInit(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"outside a section": {map[string]string{"a.iql": "CREATE DATABASE x\n"}, "a.iql: line 1"},
		"other database":    {map[string]string{"a.iql": "# DML\n# CONTEXT-DATABASE: other\ncpu v=1\n"}, `a.iql: line 3: points for database "other"`},
		"creates another":   {map[string]string{"a.iql": "# DDL\nCREATE DATABASE \"other\"\n"}, `creates database "other"`},
		"bad statement": {map[string]string{"1.iql": upstreamTestdbNamed("bad init"), "2.iql": "# DDL\nCREATE NONSENSE\n"},
			"2.iql: line 2"},
		"type conflict": {map[string]string{"a.iql": "# DML\ncpu v=1i 1\ncpu v=\"s\" 2\n"}, "a.iql: lines 2-3"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "bad init", c.files)
			err := f.run(module.Activate)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("activate: %v, want an error containing %q", err, c.want)
			}
			if f.srv.HasDatabase(t, "bad init") || f.srv.HasDatabase(t, "other") {
				t.Errorf("a database was left: %v", f.srv.Databases(t))
			}
			if active, _ := f.store.IsActive(f.key()); active {
				t.Error("marked active")
			}
		})
	}
}

func upstreamTestdbNamed(db string) string {
	s := strings.ReplaceAll(upstreamTestdb, "CREATE DATABASE testdb", "CREATE DATABASE "+influxtest.Ident(db))
	return strings.ReplaceAll(s, "CONTEXT-DATABASE: testdb", "CONTEXT-DATABASE: "+db)
}

// TestRestoreRefusesBadSnapshot: a snapshot that is cut off, for another
// database, or damaged is refused before the database is touched.
func TestRestoreRefusesBadSnapshot(t *testing.T) {
	good := dumpHeader + "\n# DDL\nCREATE DATABASE \"keep\" WITH DURATION 0s REPLICATION 1 SHARD DURATION 168h0m0s NAME \"autogen\"\n# DML\n# CONTEXT-DATABASE: keep\n# CONTEXT-RETENTION-POLICY: autogen\ncpu v=1 1\n"
	cases := map[string]struct {
		dump   string
		damage bool
		want   string
	}{
		"no end marker": {good, false, "cut off"},
		"wrong count":   {good + endMarker + " 2" + endSuffix + "\n", false, "counts 2 points"},
		"other db":      {strings.ReplaceAll(good, "keep", "other") + endMarker + " 1" + endSuffix + "\n", false, "component's database"},
		"after marker":  {good + endMarker + " 1" + endSuffix + "\ncpu v=2 2\n", false, "after the end marker"},
		"damaged":       {good + endMarker + " 1" + endSuffix + "\n", true, "checksum mismatch"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "keep", nil)
			f.must(module.Activate)
			f.srv.Write(t, "keep", "mine v=42 10\n")
			before := f.state()
			sn := f.commitPayload(map[string]string{DumpFile: c.dump})
			if c.damage {
				p := filepath.Join(f.store.SnapshotDir(sn), DumpFile+".zst")
				os.Chmod(p, 0o644)
				data, _ := os.ReadFile(p)
				data[len(data)/2] ^= 0x55
				os.WriteFile(p, data, 0o644)
			}
			err := f.run(module.Restore)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("restore: %v, want an error containing %q", err, c.want)
			}
			var ie *store.IntegrityError
			if c.damage != errors.As(err, &ie) {
				t.Errorf("integrity error: %v, want %v", errors.As(err, &ie), c.damage)
			}
			if diff := cmp.Diff(before, f.state()); diff != "" {
				t.Errorf("a refused restore changed the database:\n%s", diff)
			}
		})
	}
}

// TestWaitTimeout: the wait for the server ends at timeout, for a port
// nobody listens on and for a server that accepts and never answers.
func TestWaitTimeout(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed, _ := influxtest.FreePorts(1)
	for name, port := range map[string]int{"hung": hung.Addr().(*net.TCPAddr).Port, "closed": closed[0]} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "wait", nil)
			f.set("influxdbHttpPort", fmt.Sprint(port))
			f.set("timeout", "2")
			start := time.Now()
			err := f.run(module.Activate)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "not ready within 2s") {
				t.Fatalf("activate: %v", err)
			}
			if took < 2*time.Second || took > 3*time.Second {
				t.Errorf("waited %s, want 2s", took)
			}
			if !strings.Contains(f.rep.String(), "waiting up to 2s") {
				t.Errorf("no waiting notice:\n%s", f.rep)
			}
		})
	}
}

// TestBadSettings: bad properties are errors naming them, before the
// server is contacted.
func TestBadSettings(t *testing.T) {
	for key, val := range map[string]string{
		"influxdbHttpPort":     "http",
		"influxdbPort":         "70000",
		"timeout":              "0",
		"influxdbHost":         "a/b",
		"influxdbPasswordFile": "/nonexistent/pw",
	} {
		f := newFixture(t, "settings", nil)
		f.set(key, val)
		err := f.run(module.Activate)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v, want an error naming the property", key, val, err)
		}
	}
}

// TestUpstreamSnapshot: upstream's snapshot, a portable backup in dump/,
// restores with influxd restore -portable.
func TestUpstreamSnapshot(t *testing.T) {
	f := newFixture(t, "legacy", map[string]string{"a.iql": upstreamTestdbNamed("legacy")})
	f.must(module.Activate)
	f.srv.Write(t, "legacy", "cpu,host=serverB value=2 1700000000000000000\n")
	id := strings.Repeat("ab", 32)
	dir := filepath.Join(t.TempDir(), id)
	os.MkdirAll(dir, 0o755)
	out, err := exec.Command(f.srv.Binary, "backup", "-portable", "-host", fmt.Sprintf("127.0.0.1:%d", f.srv.RPCPort), "-database", "legacy", filepath.Join(dir, "dump")).CombinedOutput()
	if err != nil {
		t.Fatalf("influxd backup: %v\n%s", err, out)
	}
	if _, err := f.store.Add(context.Background(), f.key(), dir); err != nil {
		t.Fatal(err)
	}
	f.srv.Write(t, "legacy", "cpu,host=serverC value=3 1700000000000000001\n")
	f.must(module.Restore)
	if got := f.hosts(); got != "serverB,serverA" {
		t.Errorf("after restoring upstream's snapshot: %q", got)
	}
}

// TestPasswordFile: with influxdbPasswordFile the module authenticates as
// influxdbUsername; without it, a server with authentication refuses it.
func TestPasswordFile(t *testing.T) {
	srv := influxtest.StartWith(t, influxtest.Options{Auth: true})
	f := newFixture(t, "secured", map[string]string{"a.iql": upstreamTestdbNamed("secured")})
	f.srv = srv
	f.props = srv.Properties()
	if err := f.run(module.Activate); err == nil || !strings.Contains(err.Error(), "authorization") && !strings.Contains(err.Error(), "401") {
		t.Fatalf("activate without credentials: %v", err)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(srv.Password+"\n"), 0o600)
	f.set("influxdbUsername", srv.Admin)
	f.set("influxdbPasswordFile", pw)
	f.must(module.Activate)
	f.must(module.Snapshot)
	f.srv.Write(t, "secured", "cpu,host=serverB value=2 1700000000000000000\n")
	f.must(module.Restore)
	if got := f.hosts(); got != "serverA" {
		t.Errorf("after restore: %q", got)
	}
	if strings.Contains(f.rep.String(), srv.Password) {
		t.Error("the password appears in the module's reports")
	}
}
