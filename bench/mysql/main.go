// Command mysql measures the mysql-database snapshot against its practical
// limit, in one run on one throwaway server: the time of a plain
// `mariadb-dump … > file` of the same database (the same options the module
// uses), and the time of the module's snapshot activity (the same dump,
// streamed through zstd into the snapshot store, fsynced, hashed and
// committed). It prints both, and their ratio; the goal is ≤ 1.15. Then it
// times the module's restore of the last snapshot over the live database
// (load into a work database, swap, drop the old tables) against the plain
// load of the plain dump into an empty database (CREATE DATABASE and
// `mariadb DB < dump`); the goal is ≤ 1.10.
//
// Run it with:
//
//	go run ./bench/mysql                 # a ~500 MB dump, 3 rounds
//	go run ./bench/mysql -mb 100 -rounds 5
//	go run ./bench/mysql -rounds 7 -restore-rounds 0   # the snapshot only
//
// It needs mariadb-server and mariadb-client, and writes the database and
// the dumps under $TMPDIR.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dysnomia-go/dysnomia/bench/internal/pressure"
	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/mysql"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/mysqltest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func main() {
	mb := flag.Int("mb", 500, "approximate size of the dump in MB")
	rounds := flag.Int("rounds", 3, "measurements of each side (the median counts)")
	restoreRounds := flag.Int("restore-rounds", -1, "restore measurements (-1: as many as -rounds; 0: none)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/mysql:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench/mysql: -rounds must be at least 1")
		os.Exit(2)
	}
	if *restoreRounds < 0 {
		*restoreRounds = *rounds
	}
	if err := run(*mb, *rounds, *restoreRounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/mysql:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

const dbName = "benchdb"

func run(mb, rounds, restoreRounds int) error {
	bins, err := mysqltest.FindBinaries()
	if err != nil {
		return err
	}
	srv, err := mysqltest.Launch(mysqltest.Options{BufferPool: "1G"})
	if err != nil {
		return err
	}
	defer srv.Stop()
	work, err := os.MkdirTemp("", "bench-mysql-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Printf("load before: %s\n", loadavg())
	fmt.Printf("filling database %q (~%d MB of dump)…\n", dbName, mb)
	t0 := time.Now()
	if err := fill(srv, mb); err != nil {
		return err
	}
	fmt.Printf("filled in %s\n", time.Since(t0).Round(time.Second))

	plainFile := filepath.Join(work, "plain.sql")
	serverCPU := func() time.Duration { return procCPU(srv.PID()) }
	plain := func() (time.Duration, error) {
		f, err := os.Create(plainFile)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		cmd := exec.Command(bins.Dump, "--no-defaults", "--socket="+srv.Socket, "--user=root",
			"--single-transaction", "--quick", "--skip-dump-date", "--", dbName)
		cmd.Stdout, cmd.Stderr = f, os.Stderr
		settle()
		start, cpu0, wait0 := time.Now(), serverCPU(), pressure.CPUWait()
		err = cmd.Run()
		wall := time.Since(start)
		if err == nil {
			lastToolCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			lastCPU = serverCPU() - cpu0 + lastToolCPU
			lastWait = pressure.CPUWait() - wait0
		}
		return wall, err
	}
	var ours func() (time.Duration, error)
	var lastStore string
	comp := filepath.Join(work, dbName)
	if err := os.Mkdir(comp, 0o755); err != nil {
		return err
	}
	ours = func() (time.Duration, error) {
		// A fresh store each round: every round does the full commit.
		if lastStore != "" {
			os.RemoveAll(lastStore)
		}
		lastStore, _ = os.MkdirTemp(work, "state-")
		var props config.Properties
		props.Set(config.Property{Key: "mysqlSocket", Values: []string{srv.Socket}})
		req := &module.Request{
			Activity:  module.Snapshot,
			Component: module.Component{Name: dbName, Path: comp},
			Container: module.Container{Name: mysql.Type, Arg: mysql.Type, Type: mysql.Type, Properties: props},
			Store:     store.Open(lastStore),
			Env:       os.Environ(),
			Stdout:    os.Stdout, Stderr: os.Stderr,
			Report: ui.Discard,
		}
		settle()
		start, cpu0, self0, kids0, wait0 := time.Now(), serverCPU(), rusage(unix.RUSAGE_SELF), rusage(unix.RUSAGE_CHILDREN), pressure.CPUWait()
		err := mysql.Module{}.Run(context.Background(), req)
		wall := time.Since(start)
		lastCPU = serverCPU() - cpu0 + rusage(unix.RUSAGE_SELF) - self0 + rusage(unix.RUSAGE_CHILDREN) - kids0
		lastWait = pressure.CPUWait() - wait0
		return wall, err
	}

	// Warm the buffer pool and the page cache once, unmeasured.
	if _, err := plain(); err != nil {
		return fmt.Errorf("plain dump: %w", err)
	}
	var tp, to, cp, co, wp, wo, tc []time.Duration
	var ratios []float64
	for i := 0; i < rounds; i++ {
		d, err := plain()
		if err != nil {
			return fmt.Errorf("plain dump: %w", err)
		}
		tp, cp, wp, tc = append(tp, d), append(cp, lastCPU), append(wp, lastWait), append(tc, lastToolCPU)
		d, err = ours()
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		to, co, wo = append(to, d), append(co, lastCPU), append(wo, lastWait)
		ratios = append(ratios, to[i].Seconds()/tp[i].Seconds())
		fmt.Printf("round %d: plain mariadb-dump %.2fs (cpu %.2fs, of it the tool's %.2fs; cpu wait %.2fs), dysnomia snapshot %.2fs (cpu %.2fs, cpu wait %.2fs), ratio %.3f\n",
			i+1, tp[i].Seconds(), cp[i].Seconds(), tc[i].Seconds(), wp[i].Seconds(), to[i].Seconds(), co[i].Seconds(), wo[i].Seconds(), ratios[i])
	}
	// Restore: the module's restore over the live database, from the last
	// round's snapshot, against the plain load of the plain dump into an
	// empty database (`mariadb DB < dump`, CREATE DATABASE included).
	restoreComp := func() *module.Request {
		var props config.Properties
		props.Set(config.Property{Key: "mysqlSocket", Values: []string{srv.Socket}})
		return &module.Request{
			Activity:  module.Restore,
			Component: module.Component{Name: dbName, Path: comp},
			Container: module.Container{Name: mysql.Type, Arg: mysql.Type, Type: mysql.Type, Properties: props},
			Store:     store.Open(lastStore),
			Env:       os.Environ(),
			Stdout:    os.Stdout, Stderr: os.Stderr,
			Report: ui.Discard,
		}
	}
	db := srv.DB()
	plainLoad := func() (time.Duration, error) {
		f, err := os.Open(plainFile)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		start := time.Now()
		if _, err := db.Exec("CREATE DATABASE benchdb_plain"); err != nil {
			return 0, err
		}
		cmd := exec.Command(bins.Client, "--no-defaults", "--socket="+srv.Socket, "--user=root", "benchdb_plain")
		cmd.Stdin, cmd.Stderr = f, os.Stderr
		err = cmd.Run()
		d := time.Since(start)
		// Dropped right after, not before the next load: a load right
		// after its own previous copy was dropped reuses that copy's
		// memory, cheaper here than memory not used lately (bench/memory),
		// which the restore, keeping the old tables until the new ones
		// are complete, cannot do.
		if _, derr := db.Exec("DROP DATABASE IF EXISTS benchdb_plain"); err == nil {
			err = derr
		}
		return d, err
	}
	ourRestore := func() (time.Duration, error) {
		start := time.Now()
		err := mysql.Module{}.Run(context.Background(), restoreComp())
		return time.Since(start), err
	}
	var rp, ro []time.Duration
	var rratios []float64
	for i := 0; i < restoreRounds; i++ {
		first, second := plainLoad, ourRestore
		if i%2 == 1 {
			first, second = ourRestore, plainLoad
		}
		d1, err := first()
		if err != nil {
			return fmt.Errorf("restore round %d: %w", i+1, err)
		}
		d2, err := second()
		if err != nil {
			return fmt.Errorf("restore round %d: %w", i+1, err)
		}
		if i%2 == 1 {
			d1, d2 = d2, d1
		}
		rp, ro = append(rp, d1), append(ro, d2)
		rratios = append(rratios, d2.Seconds()/d1.Seconds())
		fmt.Printf("restore round %d (load %s): plain mariadb < dump %.2fs, dysnomia restore %.2fs, ratio %.3f\n", i+1, loadavg(), d1.Seconds(), d2.Seconds(), rratios[i])
	}

	fi, err := os.Stat(plainFile)
	if err != nil {
		return err
	}
	stored, err := dirSize(filepath.Join(lastStore, "snapshots"))
	if err != nil {
		return err
	}
	mp, mo := median(tp), median(to)
	slices.Sort(ratios)
	fmt.Printf("\ndump size %.0f MB, stored snapshot %.0f MB (zstd)\n", float64(fi.Size())/1e6, float64(stored)/1e6)
	fmt.Printf("plain mariadb-dump > file: median %.2fs (%.0f MB/s)\n", mp.Seconds(), float64(fi.Size())/1e6/mp.Seconds())
	fmt.Printf("dysnomia snapshot:         median %.2fs (%.0f MB/s)\n", mo.Seconds(), float64(fi.Size())/1e6/mo.Seconds())
	fmt.Printf("cpu (tool + server + ours): plain median %.2fs, snapshot median %.2fs, ratio %.3f\n",
		median(cp).Seconds(), median(co).Seconds(), median(co).Seconds()/median(cp).Seconds())
	if pressure.CPUWait() > 0 {
		fmt.Printf("cpu wait (time some task was ready to run and waited for a CPU, /proc/pressure/cpu): plain median %.2fs, snapshot median %.2fs\n",
			median(wp).Seconds(), median(wo).Seconds())
	}
	ratio := mo.Seconds() / mp.Seconds()
	verdict := "met"
	if ratio > 1.15 {
		verdict = "MISSED"
	}
	fmt.Printf("median of the rounds' ratios: %.3f\n", ratios[len(ratios)/2])
	fmt.Printf("ratio of the fastest rounds (least disturbed by other load): %.3f\n", slices.Min(to).Seconds()/slices.Min(tp).Seconds())
	fmt.Printf("ratio snapshot/plain (medians): %.3f (goal ≤ 1.15: %s)\n", ratio, verdict)
	if len(ro) > 0 {
		rratio := median(ro).Seconds() / median(rp).Seconds()
		verdict = "met"
		if rratio > 1.10 {
			verdict = "MISSED"
		}
		slices.Sort(rratios)
		fmt.Printf("plain mariadb < dump: median %.2fs; dysnomia restore: median %.2fs\n", median(rp).Seconds(), median(ro).Seconds())
		fmt.Printf("ratio restore/plain load (medians): %.3f (median of the rounds' ratios %.3f; goal ≤ 1.10: %s)\n", rratio, rratios[len(rratios)/2], verdict)
	}
	fmt.Printf("load after: %s\n", loadavg())
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

// fill creates the benchmark table: rows of mixed columns whose dump is
// about mb megabytes, compressible roughly like real data (hex digests,
// repeated words, numbers, dates).
func fill(srv *mysqltest.Server, mb int) error {
	db := srv.DB()
	stmts := []string{
		"CREATE DATABASE " + dbName,
		`CREATE TABLE ` + dbName + `.orders (
			id INT PRIMARY KEY,
			customer INT NOT NULL,
			amount DECIMAL(12,2) NOT NULL,
			created DATETIME NOT NULL,
			status VARCHAR(16) NOT NULL,
			token CHAR(32) NOT NULL,
			note VARCHAR(255),
			KEY (customer)
		) ENGINE=InnoDB`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	// A dumped row is about 172 bytes.
	rows := mb * 1000 * 1000 / 172
	const batch = 200000
	for start := 1; start <= rows; start += batch {
		end := min(start+batch-1, rows)
		q := fmt.Sprintf(`INSERT INTO %s.orders
			SELECT seq, seq %% 50000, ROUND(RAND(seq) * 1000, 2),
			       '2020-01-01' + INTERVAL (seq %% 100000) MINUTE,
			       ELT(1 + seq %% 4, 'new', 'paid', 'shipped', 'returned'),
			       MD5(seq),
			       CONCAT('order ', seq, ' for customer ', seq %% 50000, ': ', REPEAT(SUBSTR(MD5(seq * 7), 1, 8 + seq %% 16), 1 + seq %% 5))
			FROM %s.seq_%d_to_%d`, dbName, dbName, start, end)
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	return nil
}

// lastCPU is the CPU time of the last measured run: the dump tool, the
// server and (for the snapshot) this process. lastWait is how long, during
// that run, some task was ready to run and waited for a CPU (0 where the
// kernel does not tell).
var lastCPU, lastWait time.Duration

// lastToolCPU is the CPU time of the dump tool alone in the last plain dump.
var lastToolCPU time.Duration

// settle writes back what earlier steps left dirty before a step is timed,
// so that no step pays for another's writeback (the plain dump's file is
// never synced; the snapshot syncs its own files).
func settle() { unix.Sync() }

// procCPU is the user+system time of process pid so far.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses; utime and stime are
	// fields 14 and 15, in clock ticks (100 per second on Linux).
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100
}

func rusage(who int) time.Duration {
	var ru unix.Rusage
	unix.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}
