package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func TestTrailerFilter(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"dated trailer", "a;\nb;\n\n-- Dump completed on 2025-01-02 10:11:12\n", "a;\nb;\n\n-- Dump completed\n"},
		{"undated trailer", "a;\n-- Dump completed\n", "a;\n-- Dump completed\n"},
		{"no final newline", "a;\n-- Dump completed", "a;\n-- Dump completed\n"},
		{"no trailer", "a;\nb;\n", "a;\nb;\n"},
		{"trailer text not last", "-- Dump completed\nINSERT 1;\n", "-- Dump completed\nINSERT 1;\n"},
		{"last line without newline", "a;\nb", "a;\nb"},
		{"empty", "", ""},
		{"only the trailer", "-- Dump completed on x\n", "-- Dump completed\n"},
		{"long last line with the trailer text inside", "a;\n" + strings.Repeat("z", 300) + "-- Dump completed\n", "a;\n" + strings.Repeat("z", 300) + "-- Dump completed\n"},
		{"long last line starting like the trailer", "a;\n-- Dump completed" + strings.Repeat("z", 300) + "\n", "a;\n-- Dump completed" + strings.Repeat("z", 300) + "\n"},
		{"long lines", strings.Repeat("x", 5000) + "\n" + strings.Repeat("y", 7000) + "\n-- Dump completed on x\n",
			strings.Repeat("x", 5000) + "\n" + strings.Repeat("y", 7000) + "\n-- Dump completed\n"},
	} {
		// Every chunking of the input gives the same output.
		for _, size := range []int{1, 2, 3, 7, 64, 1 << 20} {
			var out bytes.Buffer
			f := &trailerFilter{w: &out}
			for in := tc.in; len(in) > 0; {
				n := min(size, len(in))
				if _, err := f.Write([]byte(in[:n])); err != nil {
					t.Fatal(err)
				}
				in = in[n:]
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("%s, chunks of %d: got %q, want %q", tc.name, size, out.String(), tc.want)
			}
		}
	}
}

func TestComplete(t *testing.T) {
	for line, want := range map[string]bool{
		"-- Dump completed":                                              true,
		"-- Dump completed on 2025-01-02 10:11:12":                       true,
		"/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;":                      true,
		"/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */;":          true,
		"UNLOCK TABLES;":                                                 false,
		"(2,'Hello world again');":                                       false,
		"/*!40000 ALTER TABLE `test` ENABLE KEYS */;":                    false,
		"/*!40101 SET @saved_cs_client     = @@character_set_client */;": false,
		"": false,
	} {
		if got := complete(line); got != want {
			t.Errorf("complete(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestGuardReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		bad      bool
	}{
		{"plain dump", "-- MariaDB dump\nDROP TABLE IF EXISTS `t`;\nINSERT INTO `t` VALUES ('USE x');\n", false},
		{"use", "SET x=1;\nUSE `other`;\nINSERT INTO t VALUES (1);\n", true},
		{"create database", "/*!40000 SET x */;\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `a`;\n", true},
		{"lower-case use", "use mysql;\n", true},
		{"drop database", "/*!40000 DROP DATABASE IF EXISTS `a`*/;\n", true},
		{"use inside a line", "INSERT INTO t VALUES ('x');USE y;\n", false},
	} {
		for _, size := range []int{1, 5, 4096} {
			g := newGuardReader(iotestChunks(tc.in, size))
			out, err := io.ReadAll(g)
			if tc.bad != (err != nil) {
				t.Errorf("%s, chunks of %d: err = %v, want bad=%v", tc.name, size, err, tc.bad)
			}
			if !tc.bad && string(out) != tc.in {
				t.Errorf("%s: output changed", tc.name)
			}
		}
	}
}

// iotestChunks reads s in chunks of at most n bytes.
func iotestChunks(s string, n int) io.Reader {
	return &chunkReader{s: s, n: n}
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}

// Upstream's mysql scenario (§12), on the module: counts 1, 1, 2; the
// database survives gc while active, is dropped after deactivate; restore
// brings back the latest snapshot.
func TestUpstreamScenario(t *testing.T) {
	e := newEnv(t, "testdb", map[string]string{
		"testdb.sql": "CREATE TABLE test (msg VARCHAR(100)) ENGINE=InnoDB;\nINSERT INTO test VALUES ('Hello world');\n",
	})
	msgs := func() []string {
		var out []string
		for _, r := range e.rows("SELECT msg FROM $db.test ORDER BY msg") {
			out = append(out, r[0])
		}
		return out
	}
	e.must(module.Activate)
	if diff := cmp.Diff([]string{"Hello world"}, msgs()); diff != "" {
		t.Fatalf("after activate (-want +got):\n%s", diff)
	}
	e.must(module.Activate)
	e.must(module.Snapshot)
	if n := e.snapshotCount(); n != 1 {
		t.Fatalf("snapshots after first snapshot = %d, want 1", n)
	}
	e.must(module.Snapshot)
	if n := e.snapshotCount(); n != 1 {
		t.Fatalf("snapshots after unchanged snapshot = %d, want 1", n)
	}
	e.exec("INSERT INTO $db.test VALUES ('Bye world')")
	e.must(module.Snapshot)
	if n := e.snapshotCount(); n != 2 {
		t.Fatalf("snapshots after change = %d, want 2", n)
	}
	e.must(module.CollectGarbage)
	if diff := cmp.Diff([]string{"Bye world", "Hello world"}, msgs()); diff != "" {
		t.Fatalf("gc while active changed the data (-want +got):\n%s", diff)
	}
	e.must(module.Deactivate)
	e.must(module.Deactivate)
	e.must(module.CollectGarbage)
	if e.exists() {
		t.Fatalf("database still exists after deactivate + collect-garbage")
	}
	e.must(module.Activate)
	if diff := cmp.Diff([]string{"Hello world"}, msgs()); diff != "" {
		t.Fatalf("after re-activate (-want +got):\n%s", diff)
	}
	e.must(module.Restore)
	if diff := cmp.Diff([]string{"Bye world", "Hello world"}, msgs()); diff != "" {
		t.Fatalf("after restore (-want +got):\n%s", diff)
	}
}

func TestUnchangedDataNoNewGeneration(t *testing.T) {
	e := newEnv(t, "gen-db", helloScripts)
	e.must(module.Activate)
	e.must(module.Snapshot)
	e.must(module.Snapshot)
	first := e.generations()
	if len(first) != 1 {
		t.Fatalf("generations after two snapshots of the same data = %v, want 1", first)
	}
	e.exec("INSERT INTO $db.test (msg) VALUES ('changed')")
	e.must(module.Snapshot)
	e.exec("DELETE FROM $db.test WHERE msg = 'changed'")
	e.exec("ALTER TABLE $db.test AUTO_INCREMENT = 3") // the dump records it
	e.must(module.Snapshot)
	gens := e.generations()
	if len(gens) != 3 || gens[1] == gens[0] || gens[2] != gens[0] {
		t.Errorf("generations = %v; want [A B A]: going back to the old data reuses its snapshot", gens)
	}
	// The payload carries no date, and ends with the trailer restore
	// looks for.
	p, err := e.store.Read(context.Background(), store.Snapshot{Key: store.Key{Container: Type, Component: e.name}, ID: gens[0]})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Open(DumpFile)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	if !bytes.HasSuffix(data, []byte("\n-- Dump completed\n")) || !bytes.Contains(data, []byte("Hello world again")) {
		t.Errorf("dump does not end with the bare completion line, or lacks the data:\n%s", data)
	}
}

func TestSnapshotOfMissingDatabaseFails(t *testing.T) {
	e := newEnv(t, "snap-missing", nil)
	err := e.run(module.Snapshot)
	if err == nil || !strings.Contains(err.Error(), "activate") {
		t.Fatalf("snapshot of a missing database: %v", err)
	}
	if n := e.snapshotCount(); n != 0 {
		t.Errorf("a failed snapshot left %d snapshots", n)
	}
}

// A failing dump tool stores nothing: the dump tool on PATH is replaced by
// one that writes half a dump and fails.
func TestFailedDumpIsNotStored(t *testing.T) {
	e := newEnv(t, "snap-fail", helloScripts)
	e.must(module.Activate)
	bin := t.TempDir()
	writeExe(t, bin+"/mariadb-dump", "#!/bin/sh\necho 'CREATE TABLE t (x INT);'\necho 'mariadb-dump: Error 2013: Lost connection' >&2\nexit 2\n")
	req := e.request(module.Snapshot)
	req.Env = append(req.Env, "PATH="+bin)
	err := Module{}.Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "Lost connection") {
		t.Fatalf("snapshot with a failing dump tool: %v", err)
	}
	if n := e.snapshotCount(); n != 0 {
		t.Errorf("a failed dump was stored (%d snapshots)", n)
	}
	if gens := e.generations(); len(gens) != 0 {
		t.Errorf("a failed dump added generations %v", gens)
	}
}

// The dump is consistent while another connection writes: every transfer
// moves an amount from the account to the ledger in one transaction, so
// balance + ledger is constant in every consistent view.
func TestSnapshotConsistentUnderWrites(t *testing.T) {
	e := newEnv(t, "snap-consistent", map[string]string{
		"01.sql": `CREATE TABLE account (id INT PRIMARY KEY, balance BIGINT) ENGINE=InnoDB;
INSERT INTO account VALUES (1, 1000000000);
CREATE TABLE ledger (id INT PRIMARY KEY AUTO_INCREMENT, amount BIGINT, pad CHAR(200)) ENGINE=InnoDB;
`,
	})
	e.must(module.Activate)
	// Make the ledger big enough that the dump takes a while.
	e.exec("INSERT INTO $db.ledger (amount, pad) SELECT 0, REPEAT('x', 200) FROM $db.seq_1_to_100000")
	const total = "1000000000"

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var transfers atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		db := e.srv.DB()
		for ctx.Err() == nil {
			tx, err := db.BeginTx(ctx, &sql.TxOptions{})
			if err != nil {
				return
			}
			_, err1 := tx.Exec("INSERT INTO " + quoteIdent(e.name) + ".ledger (amount, pad) VALUES (7, 'w')")
			_, err2 := tx.Exec("UPDATE " + quoteIdent(e.name) + ".account SET balance = balance - 7 WHERE id = 1")
			if err1 != nil || err2 != nil || tx.Commit() != nil {
				tx.Rollback()
				return
			}
			transfers.Add(1)
		}
	}()
	before := transfers.Load()
	e.must(module.Snapshot)
	during := transfers.Load() - before
	cancel()
	wg.Wait()
	if during == 0 {
		t.Fatalf("no write happened during the snapshot; the test proves nothing")
	}
	t.Logf("%d transfers committed during the snapshot", during)

	e.must(module.Restore)
	got := e.rows("SELECT (SELECT balance FROM $db.account WHERE id = 1) + (SELECT SUM(amount) FROM $db.ledger)")
	if got[0][0] != total {
		t.Errorf("balance + ledger = %s after restore, want %s: the dump mixed two points in time", got[0][0], total)
	}
}

func writeExe(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
