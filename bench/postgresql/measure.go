package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The timed steps of a round.
const (
	stDump     = "pg_dump|zstd"
	stSnapshot = "snapshot"
	stPsql     = "psql"
	stRestore1 = "pg_restore"
	stRestoreJ = "pg_restore -j2"
	stOurs     = "restore"
	stGone     = "restore (old db gone)"
	stUpstream = "upstream"
)

var restoreLimits = []string{stPsql, stRestore1, stRestoreJ}

// result holds a data set's times per step, one entry per round.
type result struct {
	set    string
	times  map[string][]float64
	ratios map[string][]float64 // per round
	rss    map[string][]float64 // MB, per round
	cpu    map[string][]float64 // CPU seconds of dysnomia and its tools, per round
	disk   map[string][]float64 // MB written to the data directory's device in the step's timed window
	read   map[string][]float64 // MB read from that device in that window
	// cpuWait is the time some task was ready to run and waited for a CPU
	// in that window (/proc/pressure/cpu), in seconds.
	cpuWait map[string][]float64
	wal     map[string][]float64 // MB of WAL the server wrote in that window
	sizes   string
}

func newResult(set string) *result {
	m := func() map[string][]float64 { return map[string][]float64{} }
	return &result{set: set, times: m(), ratios: m(), rss: m(), cpu: m(), disk: m(), read: m(), cpuWait: m(), wal: m()}
}

func (r *result) add(m map[string][]float64, k string, v float64) { m[k] = append(m[k], v) }

// measure runs the rounds on db.
func (b *bench) measure(set, db string, rounds, pairs, xzLevel int) (*result, error) {
	res := newResult(set)
	w := func(name string) string { return filepath.Join(b.work, db+"."+name) }
	plain, custom, dir, xzFile, zst := w("sql"), w("pgdump"), w("dir"), w("pgsql.xz"), w("sql.zst")

	// The dumps the limits load, made once (untimed).
	start := time.Now()
	for _, s := range []string{
		fmt.Sprintf("pg_dump --no-sync -d %s -f %s", db, plain),
		fmt.Sprintf("pg_dump --no-sync -Fc -Z0 -d %s -f %s", db, custom),
		fmt.Sprintf("rm -rf %s; pg_dump --no-sync -Fd -Z0 -j2 -d %s -f %s", dir, db, dir),
		fmt.Sprintf("xz -T2 -%d < %s > %s", xzLevel, plain, xzFile),
	} {
		if err := b.shell(s); err != nil {
			return nil, err
		}
	}
	fmt.Printf("dumps for the limits made in %s (plain %s, xz -%d %s)\n", since(start), size(plain), xzLevel, size(xzFile))

	steps := map[string]func() (time.Duration, error){
		stDump: func() (time.Duration, error) {
			return b.timed(func() error { return b.shell(fmt.Sprintf("pg_dump -d %s | zstd -3 -q > %s", db, zst)) })
		},
		stSnapshot: func() (time.Duration, error) {
			os.RemoveAll(b.state)
			b.checkpoint()
			d, rss, err := b.dysnomia("snapshot", db)
			res.add(res.rss, stSnapshot, float64(rss)/1e6)
			res.add(res.cpu, stSnapshot, cpuSelfAndTools.Seconds())
			return d, err
		},
		stPsql:     b.intoEmpty(db+"_psql", fmt.Sprintf("psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d %s_psql -f %s", db, plain)),
		stRestore1: b.intoEmpty(db+"_restore", fmt.Sprintf("pg_restore --exit-on-error -d %s_restore %s", db, custom)),
		stRestoreJ: b.intoEmpty(db+"_restorej", fmt.Sprintf("pg_restore --exit-on-error -j2 -d %s_restorej %s", db, dir)),
		stOurs: func() (time.Duration, error) {
			b.checkpoint()
			d, rss, err := b.dysnomia("restore", db)
			res.add(res.rss, stOurs, float64(rss)/1e6)
			res.add(res.cpu, stOurs, cpuSelfAndTools.Seconds())
			if err != nil {
				return d, err
			}
			gone, err := b.waitAsideGone(db)
			res.add(res.times, stGone, (d + gone).Seconds())
			return d, err
		},
		stUpstream: func() (time.Duration, error) {
			up := db + "_upstream"
			return b.timed(func() error {
				return b.shell(fmt.Sprintf("dropdb %s; createdb -O postgres %s; xzcat -T1 %s | psql --file - %s", up, up, xzFile, up))
			})
		},
	}
	// Upstream's restore replaces a live database: give it a copy of db
	// to replace (a file copy, untimed).
	b.sql("drop database if exists " + db + "_upstream")
	b.sql("create database " + db + "_upstream template " + db + " strategy file_copy")
	defer b.sql("drop database if exists " + db + "_upstream")

	// The snapshot comes before the restore; the rest is shuffled.
	order := []string{stDump, stSnapshot, stPsql, stRestore1, stRestoreJ, stOurs, stUpstream}
	for r := 0; r < rounds; r++ {
		b.state = filepath.Join(b.srv.Dir, "state")
		rot := shuffle(order, r)
		var line []string
		for _, st := range rot {
			b.window = usage{}
			d, err := steps[st]()
			if err != nil {
				return nil, fmt.Errorf("%s, round %d, %s: %w", set, r+1, st, err)
			}
			res.add(res.times, st, d.Seconds())
			res.add(res.disk, st, float64(b.window.disk)/1e6)
			res.add(res.read, st, float64(b.window.read)/1e6)
			res.add(res.cpuWait, st, b.window.cpuWait.Seconds())
			res.add(res.wal, st, float64(b.window.wal)/1e6)
			line = append(line, fmt.Sprintf("%s %s", st, sec(d)))
		}
		t := func(k string) float64 { return res.times[k][r] }
		limit := min(t(stPsql), t(stRestore1), t(stRestoreJ))
		res.add(res.ratios, "snapshot", t(stSnapshot)/t(stDump))
		res.add(res.ratios, "restore", t(stOurs)/limit)
		res.add(res.ratios, "restore gone", t(stGone)/limit)
		res.add(res.ratios, "upstream", t(stOurs)/t(stUpstream))
		fmt.Printf("%s round %d (load %s): %s; gone after %.2fs\n", set, r+1, loadavg(), strings.Join(line, ", "), t(stGone))
		var io, waits []string
		for _, st := range rot[2:] {
			io = append(io, fmt.Sprintf("%s %.0f/%.0f/%.0f", st, res.read[st][r], res.disk[st][r], res.wal[st][r]))
		}
		for _, st := range rot {
			waits = append(waits, fmt.Sprintf("%s %.2fs", st, res.cpuWait[st][r]))
		}
		fmt.Printf("  MB read from/written to disk/of WAL: %s\n", strings.Join(io, ", "))
		fmt.Printf("  CPU wait: %s\n", strings.Join(waits, ", "))
		fmt.Printf("  ratios: snapshot/(pg_dump|zstd -3) %.3f  restore/fastest load %.3f (until gone %.3f)  restore/upstream %.3f  peak RSS snapshot %.0f MB, restore %.0f MB; CPU of dysnomia+tools snapshot %.2fs, restore %.2fs\n",
			res.ratios["snapshot"][r], res.ratios["restore"][r], res.ratios["restore gone"][r], res.ratios["upstream"][r], res.rss[stSnapshot][r], res.rss[stOurs][r], res.cpu[stSnapshot][r], res.cpu[stOurs][r])
	}
	if pairs > 0 {
		// The steps record into res; the pairs' runs are not the rounds'.
		kept := res
		res = newResult(set)
		if len(kept.times[stOurs]) == 0 {
			b.state = filepath.Join(b.srv.Dir, "state")
			if _, err := steps[stSnapshot](); err != nil {
				return nil, fmt.Errorf("%s, snapshot: %w", set, err)
			}
		}
		if err := b.pairs(set, pairs, steps[stOurs], steps[stRestore1]); err != nil {
			return nil, err
		}
		res = kept
	}
	res.sizes = fmt.Sprintf("plain dump %s, pg_dump|zstd -3 %s, snapshot payload %s, upstream xz %s", size(plain), size(zst), dirSize(filepath.Join(b.state, "snapshots")), size(xzFile))
	for _, f := range []string{plain, custom, dir, xzFile, zst} {
		os.RemoveAll(f)
	}
	return res, nil
}

// pairs times the module's restore and pg_restore of the same archive
// (-Fc -Z0, from a file) one right after the other, n times, the first of
// each pair alternating, and prints the median of the pairs' ratios: two
// loads a few seconds apart share the disk's mood, which the loads of a
// round, spread over minutes, do not.
func (b *bench) pairs(set string, n int, ours, plain func() (time.Duration, error)) error {
	var ratios []float64
	for i := 0; i < n; i++ {
		var to, tp time.Duration
		var uo, up usage
		var err error
		run := func(step func() (time.Duration, error), d *time.Duration, u *usage) {
			if err == nil {
				*d, err = step()
				*u = b.window
			}
		}
		first := "restore"
		if i%2 == 0 {
			run(ours, &to, &uo)
			run(plain, &tp, &up)
		} else {
			first = "pg_restore"
			run(plain, &tp, &up)
			run(ours, &to, &uo)
		}
		if err != nil {
			return fmt.Errorf("%s, pair %d: %w", set, i+1, err)
		}
		ratios = append(ratios, to.Seconds()/tp.Seconds())
		fmt.Printf("%s pair %d (load %s, %s first): restore %s, pg_restore %s, ratio %.3f\n", set, i+1, loadavg(), first, sec(to), sec(tp), ratios[i])
		fmt.Printf("  MB read/written, CPU wait: restore %s, pg_restore %s\n", uo, up)
	}
	fmt.Printf("%s pairs: median of %d ratios restore / pg_restore of the same archive: %.3f (goal <= 1.10)\n", set, n, median(ratios))
	return nil
}

// summary prints the medians of a data set.
func (r *result) summary() {
	if len(r.times[stOurs]) == 0 {
		return
	}
	m := func(k string) float64 { return median(r.times[k]) }
	limit := min(m(stPsql), m(stRestore1), m(stRestoreJ))
	fastest := stPsql
	for _, k := range restoreLimits {
		if m(k) == limit {
			fastest = k
		}
	}
	fmt.Printf("%s (%d rounds; %s):\n", r.set, len(r.times[stOurs]), r.sizes)
	var ts []string
	for _, k := range []string{stDump, stSnapshot, stPsql, stRestore1, stRestoreJ, stOurs, stGone, stUpstream} {
		ts = append(ts, fmt.Sprintf("%s %.2fs", k, m(k)))
	}
	fmt.Printf("  times: %s\n", strings.Join(ts, ", "))
	verdict := func(x, goal float64) string {
		if x <= goal {
			return "met"
		}
		return "MISSED"
	}
	snap := m(stSnapshot) / m(stDump)
	fmt.Printf("  snapshot / pg_dump|zstd -3:     %.3f (median of rounds %.3f; goal <= 1.10: %s)\n", snap, median(r.ratios["snapshot"]), verdict(snap, 1.10))
	rest := m(stOurs) / limit
	fmt.Printf("  restore / fastest load (%s): %.3f (median of rounds %.3f; goal <= 1.10: %s)\n", fastest, rest, median(r.ratios["restore"]), verdict(rest, 1.10))
	fmt.Printf("  restore until old db gone / same: %.3f (median of rounds %.3f)\n", m(stGone)/limit, median(r.ratios["restore gone"]))
	up := m(stOurs) / m(stUpstream)
	fmt.Printf("  restore / upstream emulation:   %.3f (median of rounds %.3f; goal < 1: %s)\n", up, median(r.ratios["upstream"]), verdict(up, 0.9999))
	fmt.Printf("  peak RSS of dysnomia: snapshot %.0f MB, restore %.0f MB (max of rounds; goal <= 100 MB)\n", maxOf(r.rss[stSnapshot]), maxOf(r.rss[stOurs]))
	// The work the disk did, which unlike the times does not depend on
	// what else the machine's disk is doing.
	var io []string
	for _, k := range []string{stPsql, stRestore1, stRestoreJ, stOurs, stUpstream} {
		io = append(io, fmt.Sprintf("%s %.0f/%.0f", k, median(r.disk[k]), median(r.wal[k])))
	}
	fmt.Printf("  MB written to disk/of WAL (medians): %s\n", strings.Join(io, ", "))
	var waits []string
	for _, k := range []string{stDump, stSnapshot, stPsql, stRestore1, stRestoreJ, stOurs, stUpstream} {
		waits = append(waits, fmt.Sprintf("%s %.2fs", k, median(r.cpuWait[k])))
	}
	fmt.Printf("  CPU wait (medians; time some task was ready to run and waited for a CPU): %s\n", strings.Join(waits, ", "))
	fmt.Printf("  MB read from disk (medians): restore %.0f, %s %.0f\n", median(r.read[stOurs]), fastest, median(r.read[fastest]))
	if d := median(r.disk[fastest]); d > 0 {
		fmt.Printf("  restore / fastest load (%s), disk written: %.3f, WAL: %.3f\n", fastest, median(r.disk[stOurs])/d, median(r.wal[stOurs])/median(r.wal[fastest]))
	}
}

// intoEmpty returns a step that creates an empty database and loads it
// with script, timed from createdb on. The database is dropped right after
// (untimed), not before the step's next run: on a virtual machine that hands
// freed memory back to its host, as this kind does, a page the guest has not
// used lately costs a fault in the host on first use, and a load that starts
// right after its own previous copy was dropped reuses that copy's pages,
// which a restore, keeping the old database until the new one is complete,
// never can. Dropped right after, every load (the restore included) starts
// after some other step freed its database (bench/memory shows the cost).
func (b *bench) intoEmpty(db, script string) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		d, err := b.timed(func() error { return b.shell("createdb " + db + "; " + script) })
		b.sql("drop database if exists " + db)
		return d, err
	}
}

// timed checkpoints (untimed), then times f, counting what it wrote
// (b.window).
func (b *bench) timed(f func() error) (time.Duration, error) {
	b.checkpoint()
	u0 := b.usage()
	start := time.Now()
	err := f()
	d := time.Since(start)
	b.window = b.usage().minus(u0)
	return d, err
}

// checkpoint writes back what earlier steps left dirty before a step is
// timed: the server's buffers (CHECKPOINT), then every file (sync), such
// as the limits' dump files, which pg_dump --no-sync and zstd never sync,
// so that no step pays for another's writeback. With b.cold it then
// empties the page cache (see the package comment).
func (b *bench) checkpoint() {
	b.sql("checkpoint")
	unix.Sync()
	if b.cold {
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
			fmt.Fprintf(os.Stderr, "bench/postgresql: empty the page cache (run as root, or give -warm): %v\n", err)
			os.Exit(1)
		}
	}
}

// waitAsideGone waits until no database left by the restore of db is in
// pg_database and returns how long that took.
func (b *bench) waitAsideGone(db string) (time.Duration, error) {
	start := time.Now()
	for {
		n := b.sql("select count(*) from pg_database where datname like 'dysnomia-%'")
		if n == "0" {
			return time.Since(start), nil
		}
		if time.Since(start) > 5*time.Minute {
			return time.Since(start), fmt.Errorf("the replaced database of %s is still there after 5 minutes", db)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shuffle orders a round's steps: the dump and the snapshot come first
// (the restore needs the snapshot), swapping places every other round; the
// loads follow in an order drawn from a generator seeded with the round, so
// that no step always follows the same one (a load that comes after a
// database was dropped, for one, tends to be faster on this kind of
// virtual disk) and a run is repeatable.
func shuffle(xs []string, r int) []string {
	head, tail := append([]string{}, xs[:2]...), append([]string{}, xs[2:]...)
	if r%2 == 1 {
		head[0], head[1] = head[1], head[0]
	}
	rand.New(rand.NewPCG(uint64(r), 16)).Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	return append(head, tail...)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(fi.Size())/1e6)
}

func dirSize(dir string) string {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}
