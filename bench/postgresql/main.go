// Command postgresql measures the postgresql-database module's snapshot and
// restore against PostgreSQL's own tools on the same database, in one run:
//
//	go run ./bench/postgresql [-scale 70] [-rounds 3] [-jobs 1]
//
// It needs root (the throwaway server runs as the postgres user) and the
// PostgreSQL programs with pgbench. It starts a durable server (fsync on),
// fills a database with `pgbench -i -s SCALE` (scale 70 is about 1 GB), and
// then, in each round, times
//
//	plain dump      pg_dump -Fc -f FILE (pg_dump's default compression)
//	snapshot        the module's snapshot activity into a fresh state dir
//	plain restore   createdb + pg_restore -d DB FILE (serial)
//	restore         the module's restore activity over the existing database
//	                (load into a new database, swap, drop the old one)
//
// with a CHECKPOINT before each, alternating which of a pair goes first. It
// prints every time, the medians, and the ratios snapshot/plain dump and
// restore/plain restore (targets: at most 1.15 each), as ratios of the
// medians and as medians of the per-round ratios (a pair runs back to back,
// which cancels slow drifts of a shared machine's load). Each restore is
// followed by a timed CHECKPOINT, and the ratio of restore plus checkpoint
// is printed too: the module's restore drops the replaced database, and
// DROP DATABASE forces a checkpoint, so it pays inside its own time for
// writing the restored data to disk, which plain pg_restore leaves to the
// next checkpoint.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/postgresql"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func main() {
	scale := flag.Int("scale", 70, "pgbench scale factor (70 is about 1 GB)")
	rounds := flag.Int("rounds", 3, "rounds of measurements")
	jobs := flag.Int("jobs", 1, "postgresqlRestoreJobs for the module's restore")
	verbose := flag.Bool("v", false, "show the module's notes with times")
	flag.Parse()
	if *verbose {
		report = &stamped{}
	}
	if err := run(*scale, *rounds, *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	srv   *pgtest.Server
	st    *store.Store
	props config.Properties
	comp  string
	work  string
}

func run(scale, rounds, jobs int) error {
	srv, err := pgtest.New(pgtest.Options{Durable: true})
	if err != nil {
		return err
	}
	defer srv.Stop()
	b := &bench{srv: srv, work: filepath.Join(srv.Dir, "work")}
	if err := os.Mkdir(b.work, 0o755); err != nil {
		return err
	}
	if err := os.Chown(b.work, srv.OS.UID, srv.OS.GID); err != nil {
		return err
	}
	b.comp = filepath.Join(b.work, "bench")
	os.Mkdir(b.comp, 0o755)
	b.props = srv.Properties()
	b.props.Set(config.Property{Key: "postgresqlRestoreJobs", Values: []string{strconv.Itoa(jobs)}})
	b.props.Set(config.Property{Key: "timeout", Values: []string{"60"}})

	fmt.Printf("PostgreSQL %s, %d CPUs, pgbench scale %d, restore jobs %d\n", b.sql("postgres", "show server_version"), numCPU(), scale, jobs)
	if err := b.tool("postgres", "createdb", "bench"); err != nil {
		return err
	}
	start := time.Now()
	if err := b.tool("", "pgbench", "-i", "-q", "-s", strconv.Itoa(scale), "bench"); err != nil {
		return err
	}
	fmt.Printf("pgbench -i: %s, database size %s\n", since(start), b.sql("postgres", "select pg_size_pretty(pg_database_size('bench'))"))
	if err := b.tool("", "pg_dump", "-Fc", "--no-sync", "-f", "/dev/null", "bench"); err != nil { // warm the cache
		return err
	}

	plainFile := filepath.Join(b.work, "plain.dump")
	var dump, snap, plainRestore, restore, plainDurable, durable, dumpRatio, restoreRatio, durableRatio []float64
	for r := 0; r < rounds; r++ {
		os.RemoveAll(filepath.Join(srv.Dir, "state"))
		b.st = store.Open(filepath.Join(srv.Dir, "state"))
		pd := func() (time.Duration, error) {
			os.Remove(plainFile)
			return b.timed(func() error { return b.tool("", "pg_dump", "-Fc", "-f", plainFile, "bench") })
		}
		sd := func() (time.Duration, error) {
			return b.timed(func() error { return b.activity(module.Snapshot) })
		}
		d1, d2, err := pair(r, pd, sd)
		if err != nil {
			return err
		}

		// Each restore is followed by a timed CHECKPOINT: restore plus
		// checkpoint is the time until the restored data is on disk. (The
		// module's restore drops the old database, which forces a
		// checkpoint inside its own time.)
		var f1, f2 time.Duration
		pr := func() (time.Duration, error) {
			b.sql("postgres", "drop database if exists bench_plain")
			d, err := b.timed(func() error {
				if err := b.tool("", "createdb", "bench_plain"); err != nil {
					return err
				}
				return b.tool("", "pg_restore", "-d", "bench_plain", plainFile)
			})
			f1 = b.flush()
			return d, err
		}
		or := func() (time.Duration, error) {
			d, err := b.timed(func() error { return b.activity(module.Restore) })
			f2 = b.flush()
			return d, err
		}
		r1, r2, err := pair(r, pr, or)
		if err != nil {
			return err
		}
		b.sql("postgres", "drop database if exists bench_plain")
		dump, snap = append(dump, d1.Seconds()), append(snap, d2.Seconds())
		plainRestore, restore = append(plainRestore, r1.Seconds()), append(restore, r2.Seconds())
		plainDurable, durable = append(plainDurable, (r1+f1).Seconds()), append(durable, (r2+f2).Seconds())
		dumpRatio = append(dumpRatio, d2.Seconds()/d1.Seconds())
		restoreRatio = append(restoreRatio, r2.Seconds()/r1.Seconds())
		durableRatio = append(durableRatio, (r2+f2).Seconds()/(r1+f1).Seconds())
		fmt.Printf("round %d: plain dump %s  snapshot %s  plain restore %s (+checkpoint %s)  restore %s (+checkpoint %s)\n",
			r+1, sec(d1), sec(d2), sec(r1), sec(f1), sec(r2), sec(f2))
	}

	pfi, _ := os.Stat(plainFile)
	var snapSize int64
	filepath.Walk(filepath.Join(srv.Dir, "state", "snapshots"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			snapSize += fi.Size()
		}
		return nil
	})
	fmt.Printf("sizes: pg_dump -Fc file %d bytes, snapshot payload %d bytes\n", pfi.Size(), snapSize)
	fmt.Printf("medians of %d rounds: plain dump %.2fs  snapshot %.2fs  plain restore %.2fs  restore %.2fs  (with checkpoint: %.2fs, %.2fs)\n",
		rounds, median(dump), median(snap), median(plainRestore), median(restore), median(plainDurable), median(durable))
	fmt.Printf("snapshot / plain pg_dump -Fc:       %.3f (median of per-round ratios %.3f; target <= 1.15)\n", median(snap)/median(dump), median(dumpRatio))
	fmt.Printf("restore / plain pg_restore:         %.3f (median of per-round ratios %.3f; target <= 1.15)\n", median(restore)/median(plainRestore), median(restoreRatio))
	fmt.Printf("same, each until checkpointed:      %.3f (median of per-round ratios %.3f)\n", median(durable)/median(plainDurable), median(durableRatio))
	return nil
}

// flush times a CHECKPOINT.
func (b *bench) flush() time.Duration {
	start := time.Now()
	b.sql("postgres", "checkpoint")
	return time.Since(start)
}

// pair runs a and b, b first in odd rounds, each after a checkpoint.
func pair(round int, a, b func() (time.Duration, error)) (da, db time.Duration, err error) {
	first, second := a, b
	if round%2 == 1 {
		first, second = b, a
	}
	d1, err := first()
	if err != nil {
		return 0, 0, err
	}
	d2, err := second()
	if err != nil {
		return 0, 0, err
	}
	if round%2 == 1 {
		d1, d2 = d2, d1
	}
	return d1, d2, nil
}

// timed checkpoints (untimed), then times f.
func (b *bench) timed(f func() error) (time.Duration, error) {
	b.sql("postgres", "checkpoint")
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func (b *bench) activity(a module.Activity) error {
	req := &module.Request{
		Activity:  a,
		Component: module.Component{Name: "bench", Path: b.comp},
		Container: module.Container{Name: postgresql.ModuleType, Arg: postgresql.ModuleType, Type: postgresql.ModuleType, Properties: b.props},
		Store:     b.st,
		Env:       []string{"PATH=" + os.Getenv("PATH")},
		Stdin:     strings.NewReader(""),
		Stdout:    io.Discard,
		Stderr:    os.Stderr,
		Report:    report,
	}
	st, verbose := report.(*stamped)
	if !verbose {
		return postgresql.Module{}.Run(context.Background(), req)
	}
	st.start = time.Now()
	before := cpuTime()
	err := postgresql.Module{}.Run(context.Background(), req)
	st.Infof("%s done; CPU time of this process: %.2fs", a, (cpuTime() - before).Seconds())
	return err
}

// report is ui.Discard, or with -v a reporter that stamps each note with
// the time since the start of the activity.
var report ui.Reporter = ui.Discard

type stamped struct{ start time.Time }

func (s *stamped) Infof(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "  %6.2fs %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(f, a...))
}
func (s *stamped) Warnf(f string, a ...any)          { s.Infof("warning: "+f, a...) }
func (s *stamped) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }

func (b *bench) tool(db, name string, args ...string) error {
	cmd := b.srv.Command(db, name, args...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

func (b *bench) sql(db, q string) string {
	out, err := b.srv.QueryPsql(db, q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	return out
}

// median of xs; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
func since(t time.Time) string   { return sec(time.Since(t)) }
func numCPU() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
