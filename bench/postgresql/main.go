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
// restore/plain restore (targets: at most 1.15 each).
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
	var dump, snap, plainRestore, restore []time.Duration
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
		dump, snap = append(dump, d1), append(snap, d2)

		pr := func() (time.Duration, error) {
			b.sql("postgres", "drop database if exists bench_plain")
			return b.timed(func() error {
				if err := b.tool("", "createdb", "bench_plain"); err != nil {
					return err
				}
				return b.tool("", "pg_restore", "-d", "bench_plain", plainFile)
			})
		}
		or := func() (time.Duration, error) {
			return b.timed(func() error { return b.activity(module.Restore) })
		}
		r1, r2, err := pair(r, pr, or)
		if err != nil {
			return err
		}
		plainRestore, restore = append(plainRestore, r1), append(restore, r2)
		b.sql("postgres", "drop database if exists bench_plain")
		fmt.Printf("round %d: plain dump %s  snapshot %s  plain restore %s  restore %s\n", r+1, sec(d1), sec(d2), sec(r1), sec(r2))
	}

	pfi, _ := os.Stat(plainFile)
	var snapSize int64
	filepath.Walk(filepath.Join(srv.Dir, "state", "snapshots"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			snapSize += fi.Size()
		}
		return nil
	})
	md, ms, mpr, mr := median(dump), median(snap), median(plainRestore), median(restore)
	fmt.Printf("sizes: pg_dump -Fc file %d bytes, snapshot payload %d bytes\n", pfi.Size(), snapSize)
	fmt.Printf("median of %d: plain dump %s  snapshot %s  plain restore %s  restore %s\n", rounds, sec(md), sec(ms), sec(mpr), sec(mr))
	fmt.Printf("ratio snapshot/plain dump       = %.3f (target <= 1.15)\n", ms.Seconds()/md.Seconds())
	fmt.Printf("ratio restore/plain pg_restore  = %.3f (target <= 1.15)\n", mr.Seconds()/mpr.Seconds())
	return nil
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
	if st, ok := report.(*stamped); ok {
		st.start = time.Now()
	}
	return postgresql.Module{}.Run(context.Background(), req)
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

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
func since(t time.Time) string   { return sec(time.Since(t)) }
func numCPU() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}
