// Command postgresql measures the postgresql-database module's snapshot and
// restore against the practical limits measured in the same run, on the
// same data:
//
//	go run ./bench/postgresql [-scale 70] [-random-mb 1000] [-rounds 3] [-pairs 0] [-data pgbench,random] [-warm] [-trace]
//
// Run it from the repository root, as root (the throwaway server runs as
// the postgres user); it needs the PostgreSQL programs with pgbench, zstd
// and xz. It builds the dysnomia binary, starts a durable server (fsync on,
// the default postgresql.conf otherwise) and creates two databases of about
// 1 GB each: "bench" (pgbench -i -s SCALE: highly compressible) and
// "random" (one table of random base64 text from pgcrypto's
// gen_random_bytes: zstd keeps about three quarters of it).
//
// In each round, for each database, after an untimed CHECKPOINT each, it
// times (the snapshot and its limit first, the loads in an order shuffled
// from round to round, repeatably):
//
//	pg_dump|zstd    pg_dump DB | zstd -3 > FILE, the snapshot's limit
//	snapshot        dysnomia snapshot (a child process) into a fresh state dir
//	psql            createdb + psql -f of the plain dump into it
//	pg_restore      createdb + pg_restore of a -Fc -Z0 archive
//	pg_restore -j2  createdb + pg_restore --jobs=2 of a -Fd -Z0 directory
//	restore         dysnomia restore over the live database
//	upstream        upstream Dysnomia's restore commands, emulated: dropdb,
//	                createdb -O postgres, xzcat dump.pgsql.xz | psql --file -
//
// The plain loads drop their database right after they are timed, so that
// every load, the restore included, starts after some other step dropped a
// database: on this kind of virtual machine memory not used lately costs
// more on first use than memory freed seconds before (bench/memory), and a
// load that came right after its own previous copy was dropped would reuse
// that gigabyte, as a restore, which keeps the old database until the new
// one is complete, cannot.
//
// The restore's limit is the fastest of psql, pg_restore and pg_restore -j2
// in that round. The module's restore is timed until the dysnomia process
// exits, when the restored database is durable (the swap commits
// synchronously) and the replaced one is either gone or provably going: its
// DROP DATABASE is running in the server and has durably marked it invalid
// (pg_database.datconnlimit = -2: nobody can connect to it any more, and an
// interrupted drop is finished by the next activity on the component). The
// time until it has left pg_database is printed too ("gone").
//
// The upstream emulation runs upstream 0.10.2's commands on the same data,
// stored the way upstream stores it (pg_dump DB | xz, made once, untimed):
// it is an emulation of upstream's commands, not upstream's code. It
// restores into a copy of the database, as upstream restores over the live
// one. Two departures, to keep the run short, neither of which changes
// what xzcat does: the dump is compressed at level -xz-level (default 0;
// upstream's is 6) and by two threads, into independent blocks, and xzcat
// gets -T1, so that it decompresses with one thread, as it does upstream's
// single-block files.
//
// With -pairs N it then times N pairs of the module's restore and
// pg_restore of the same archive from a file, one right after the other
// (the first of each pair alternating), and prints the median of the
// pairs' ratios: loads seconds apart meet the same disk, which loads
// spread over a round's minutes do not.
//
// For each load it also counts what the machine did in the timed window:
// bytes written to and read from the block device holding the server's
// directory (/proc/diskstats), bytes of WAL (pg_stat_wal), and how long
// some task was ready to run and waited for a CPU (/proc/pressure/cpu). On
// a machine whose disk is shared, as a virtual machine's is, the same load
// can take 8 s or 20 s from one minute to the next; the byte counts do not
// move with it, and show whether a restore does more work than the plain
// loads or only waited longer for the same; the CPU wait shows when the
// cores, not the disk, were short. Before each timed step the server
// checkpoints and every file is synced (untimed), so that no step pays for
// the writeback of another.
//
// Then, unless -warm is given, the page cache is emptied
// (/proc/sys/vm/drop_caches): every step reads its input from the disk, as
// the restore after an incident reads a snapshot nobody has read lately,
// and every step gets memory freed moments before. On this kind of virtual
// machine memory not used lately costs more on first use (bench/memory),
// and with the cache kept, a load's speed depends on whether the step
// before it happened to free memory: in a -warm run of 2026-12-04 the
// restore right after the snapshot, which frees nothing, was the slowest
// restore of the run on both data sets, while the emulated upstream
// restore, which drops the live database before it loads, always reuses
// that database's memory.
//
// Peak RSS is the dysnomia child's VmHWM. The benchmark prints every
// time, per-round ratios, and medians (ratio of medians, and median of the
// per-round ratios).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

func main() {
	scale := flag.Int("scale", 70, "pgbench scale factor (70 is about 1 GB)")
	randomMB := flag.Int("random-mb", 1000, "size of the random database in MB")
	rounds := flag.Int("rounds", 3, "rounds of measurements")
	pairs := flag.Int("pairs", 0, "after the rounds, pairs of the module's restore and pg_restore of the same archive, one right after the other")
	data := flag.String("data", "pgbench,random", "data sets to measure: pgbench, random")
	xzLevel := flag.Int("xz-level", 0, "xz level of the emulated upstream snapshot (upstream: xz's default, 6, which takes many minutes on 1 GB here)")
	warm := flag.Bool("warm", false, "keep the page cache between steps (by default it is emptied before each timed step)")
	trace := flag.Bool("trace", false, "print the output of every dysnomia run, each line with the time it came")
	var props, settings multiFlag
	flag.Var(&props, "prop", "extra container property KEY=VALUE (repeatable)")
	flag.Var(&settings, "set", "extra server setting KEY=VALUE for postgresql.conf (repeatable)")
	flag.Parse()
	// ^C or a kill stops the throwaway server before exiting.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		if stop := stopServer; stop != nil {
			stop()
		}
		os.Exit(130)
	}()
	if err := run(*scale, *randomMB, *rounds, *pairs, strings.Split(*data, ","), *xzLevel, props, settings, !*warm, *trace); err != nil {
		fmt.Fprintln(os.Stderr, "bench/postgresql:", err)
		os.Exit(1)
	}
}

// stopServer stops the server on a signal.
var stopServer func()

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(scale, randomMB, rounds, pairs int, sets []string, xzLevel int, props, settings []string, cold, trace bool) error {
	fmt.Printf("load before: %s\n", loadavg())
	conf := map[string]string{}
	for _, kv := range settings {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("-set %q: want KEY=VALUE", kv)
		}
		conf[k] = v
	}
	srv, err := pgtest.New(pgtest.Options{Durable: true, Settings: conf})
	if err != nil {
		return err
	}
	defer srv.Stop()
	stopServer = func() { srv.Stop() }
	b := &bench{srv: srv, work: filepath.Join(srv.Dir, "work"), cold: cold, trace: trace}
	if cold {
		fmt.Println("the page cache is emptied before each timed step (-warm keeps it)")
	}
	if err := b.setup(props); err != nil {
		return err
	}
	fmt.Printf("PostgreSQL %s, %d CPUs, shared_buffers %s, maintenance_work_mem %s, max_wal_size %s, autovacuum %s\n",
		b.sql("show server_version"), numCPU(), b.sql("show shared_buffers"), b.sql("show maintenance_work_mem"), b.sql("show max_wal_size"), b.sql("show autovacuum"))
	if len(settings) > 0 {
		fmt.Printf("extra server settings: %s\n", strings.Join(settings, " "))
	}

	var results []*result
	for _, set := range sets {
		start := time.Now()
		var db string
		switch set {
		case "pgbench":
			db = "bench"
			err = b.fillPgbench(db, scale)
		case "random":
			db = "random"
			err = b.fillRandom(db, randomMB)
		default:
			err = fmt.Errorf("unknown data set %q", set)
		}
		if err != nil {
			return err
		}
		fmt.Printf("\n== %s: database %q, %s, filled in %s\n", set, db, b.sql("select pg_size_pretty(pg_database_size('"+db+"'))"), since(start))
		res, err := b.measure(set, db, rounds, pairs, xzLevel)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	fmt.Printf("\nload after: %s\n", loadavg())
	fmt.Println("\nsummary (medians):")
	for _, r := range results {
		r.summary()
	}
	return nil
}

// loadavg is /proc/loadavg's first three fields.
func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	out, _ := exec.Command("nproc").Output()
	var n int
	fmt.Sscan(string(out), &n)
	return n
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
func since(t time.Time) string   { return sec(time.Since(t)) }
