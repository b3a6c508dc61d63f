// Command store measures the snapshot store against the practical limits
// measured in the same run:
//
//   - "dysnomia snapshots latest" on a store where one component has 10,000
//     generations (target: at most 20 ms), beside "dysnomia version", the
//     cost of starting the binary at all;
//   - "dysnomia snapshots gc --keep 1" on that store (9,999 generations and
//     snapshots to remove), beside deleting an identical copy of the tree
//     with os.RemoveAll (no locking, no fsync);
//   - committing a 1 GiB pg_dump-like text dump, beside writing the same
//     bytes, in the same chunks, through a zstd encoder with the store's
//     settings (store.EncoderOptions, on one encoder goroutine, as
//     store.Dump.Create encodes) to a file: the target is at most 1.1
//     times that.
//
// Run it from the repository root:
//
//	go run ./bench/store [-generations 10000] [-dump-mib 1024] [-n 30] [-reps 5] [-only queries|commit]
//
// The commit and its limit run alternately, reps times each; the headline
// is the median of the per-repetition ratios, which is what stays stable on
// a machine shared with other work (best-of-each is printed too).
//
// It needs about 1.5 GiB of memory (the dump is generated once, in memory,
// so neither measurement pays for generating it) and twice the compressed
// dump size on disk, in $TMPDIR.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

func main() {
	gens := flag.Int("generations", 10000, "generations of the component queried and collected")
	dumpMiB := flag.Int("dump-mib", 1024, "size of the committed dump in MiB")
	n := flag.Int("n", 30, "timed runs of each query")
	reps := flag.Int("reps", 5, "alternating repetitions of the commit and its limit")
	only := flag.String("only", "", `run only "queries" (latest and gc) or "commit"`)
	flag.Parse()
	if err := run(*gens, *dumpMiB, *n, *reps, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench/store:", err)
		os.Exit(1)
	}
}

func run(gens, dumpMiB, n, reps int, only string) error {
	root, err := os.MkdirTemp("", "dysnomia-bench-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	bin := filepath.Join(root, "dysnomia")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dysnomia")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}

	k := store.Key{Container: "postgresql-database", Component: "app"}
	if only != "commit" {
		if err := queries(root, bin, k, gens, n); err != nil {
			return err
		}
	}
	if only == "queries" {
		return nil
	}
	return commits(root, k, dumpMiB, reps)
}

// queries times latest and gc --keep 1 on a store with gens generations.
func queries(root, bin string, k store.Key, gens, n int) error {
	// A store with gens generations of one component, each its own
	// snapshot, laid out exactly as Commit lays it out.
	state := filepath.Join(root, "state")
	start := time.Now()
	if err := populate(state, k, gens); err != nil {
		return err
	}
	// Flush the set-up's writes, so that the first fsync of the measured
	// commands does not pay for them.
	syscall.Sync()
	fmt.Printf("store: %d generations of %s built in %v\n", gens, k, time.Since(start).Round(time.Millisecond))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "DYSNOMIA_STATEDIR=" + state}

	version, err := timeCommand(env, n, bin, "version")
	if err != nil {
		return err
	}
	latest, err := timeCommand(env, n, bin, "snapshots", "latest")
	if err != nil {
		return err
	}
	s := store.Open(state)
	inproc := timeFunc(n, func() error { _, _, err := s.Latest(k); return err })
	fmt.Printf("snapshots latest:    median %v (min %v) over %d runs; target 20ms: %s\n", latest.median, latest.min, n, verdict(latest.median <= 20*time.Millisecond))
	fmt.Printf("  limit, dysnomia version: median %v (min %v); ratio %.2f\n", version.median, version.min, ratio(latest.median, version.median))
	fmt.Printf("  in process, Store.Latest: median %v\n", inproc.median)

	// gc --keep 1 against removing an identical tree.
	copyState := filepath.Join(root, "state-copy")
	if err := populate(copyState, k, gens); err != nil {
		return err
	}
	syscall.Sync()
	t0 := time.Now()
	if err := os.RemoveAll(copyState); err != nil {
		return err
	}
	rmAll := time.Since(t0)
	t0 = time.Now()
	out, err := exec.Command(bin, "--state-dir", state, "snapshots", "gc", "--keep", "1").CombinedOutput()
	gcTime := time.Since(t0)
	if err != nil {
		return fmt.Errorf("gc: %v\n%s", err, out)
	}
	if left, _ := s.Generations(k); len(left) != 1 {
		return fmt.Errorf("gc left %d generations", len(left))
	}
	fmt.Printf("snapshots gc --keep 1: %v for %d generations and snapshots\n", gcTime.Round(time.Millisecond), gens-1)
	fmt.Printf("  limit, os.RemoveAll of an identical store: %v; ratio %.2f\n", rmAll.Round(time.Millisecond), ratio(gcTime, rmAll))
	return nil
}

// commits times the commit of a dump of dumpMiB against zstd to a file,
// alternating reps times.
func commits(root string, k store.Key, dumpMiB, reps int) error {
	t0 := time.Now()
	dump := pgDump(dumpMiB << 20)
	fmt.Printf("dump: %d MiB of pg_dump-like text generated in %v\n", dumpMiB, time.Since(t0).Round(time.Millisecond))
	var commits, limits, limitsSync []time.Duration
	var ratios []float64
	var fills []time.Duration
	_ = fills
	var compressed int64
	for rep := 0; rep < reps; rep++ {
		lim, limSync, size, err := zstdToFile(filepath.Join(root, "limit.zst"), dump)
		if err != nil {
			return err
		}
		limits, limitsSync, compressed = append(limits, lim), append(limitsSync, limSync), size
		cs := store.Open(filepath.Join(root, "commit-state"+strconv.Itoa(rep)))
		var fill time.Duration
		t0 := time.Now()
		c, err := cs.Commit(context.Background(), k, store.Meta{Module: "bench"}, func(d *store.Dump) error {
			w, err := d.Create("dump.sql")
			if err != nil {
				return err
			}
			if err := writeChunks(w, dump); err != nil {
				return err
			}
			err = w.Close()
			fill = time.Since(t0)
			return err
		})
		commit := time.Since(t0)
		if err != nil {
			return err
		}
		commits, fills = append(commits, commit), append(fills, fill)
		ratios = append(ratios, ratio(commit, lim))
		fmt.Printf("  rep %d: zstd to file %v (+fsync %v), commit %v (ratio %.3f; module's dump written after %v), id %s\n",
			rep+1, lim.Round(time.Millisecond), limSync.Round(time.Millisecond), commit.Round(time.Millisecond), ratio(commit, lim), fill.Round(time.Millisecond), c.ID)
		os.RemoveAll(cs.Dir())
	}
	best := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[0]
	}
	commit, limit, limitSync := best(commits), best(limits), best(limitsSync)
	mibs := float64(dumpMiB) / commit.Seconds()
	fmt.Printf("commit of %d MiB (%d MiB compressed): best %v (%.0f MiB/s of dump)\n", dumpMiB, compressed>>20, commit.Round(time.Millisecond), mibs)
	sort.Float64s(ratios)
	med := ratios[len(ratios)/2]
	fmt.Printf("  limit, zstd with the same settings to a file: best %v\n", limit.Round(time.Millisecond))
	fmt.Printf("  ratio commit/limit: median of %d repetitions %.3f (range %.3f-%.3f); best/best %.3f; target 1.1: %s\n",
		len(ratios), med, ratios[0], ratios[len(ratios)-1], ratio(commit, limit), verdict(med <= 1.1))
	fmt.Printf("  limit including one fsync of the file: best %v; ratio %.3f\n", limitSync.Round(time.Millisecond), ratio(commit, limitSync))
	return nil
}

// populate writes n generations of k, each pointing to its own small
// snapshot with checksum and metadata, without fsync (building, not
// measuring).
func populate(state string, k store.Key, n int) error {
	enc, _ := zstd.NewWriter(nil, store.EncoderOptions()...)
	sp := filepath.Join(state, "snapshots", k.Container, k.Component)
	gp := filepath.Join(state, "generations", k.Container, k.Component)
	cp := filepath.Join(state, "checksums", k.Container, k.Component)
	mp := filepath.Join(state, "metadata", k.Container, k.Component)
	for _, d := range []string{sp, gp, cp, mp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	tmp := filepath.Join(state, "building")
	for i := 1; i <= n; i++ {
		os.RemoveAll(tmp)
		if err := os.Mkdir(tmp, 0o755); err != nil {
			return err
		}
		data := enc.EncodeAll([]byte(fmt.Sprintf("-- state %d\nINSERT INTO t VALUES (%d);\n", i, i)), nil)
		if err := os.WriteFile(filepath.Join(tmp, "dump.sql.zst"), data, 0o644); err != nil {
			return err
		}
		sum, err := store.NARHash(tmp)
		if err != nil {
			return err
		}
		id := strings.TrimPrefix(sum, "sha256:")
		if err := os.Rename(tmp, filepath.Join(sp, id)); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(cp, id), []byte(sum), 0o644); err != nil {
			return err
		}
		md := fmt.Sprintf(`{"container":%q,"component":%q,"id":%q,"checksum":%q,"module":"bench","time":"2025-01-01T00:00:00Z"}`+"\n", k.Container, k.Component, id, sum)
		if err := os.WriteFile(filepath.Join(mp, id+".json"), []byte(md), 0o644); err != nil {
			return err
		}
		if err := os.Symlink("../../../snapshots/"+k.Container+"/"+k.Component+"/"+id, filepath.Join(gp, strconv.Itoa(i))); err != nil {
			return err
		}
	}
	return nil
}

// zstdToFile is the limit: the dump through the store's encoder settings
// into a file. It returns the time without and with a final fsync.
func zstdToFile(path string, dump []byte) (plain, synced time.Duration, size int64, err error) {
	os.Remove(path)
	defer os.Remove(path)
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	enc, err := zstd.NewWriter(f, append(store.EncoderOptions(), zstd.WithEncoderConcurrency(1))...)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := writeChunks(enc, dump); err != nil {
		return 0, 0, 0, err
	}
	if err := enc.Close(); err != nil {
		return 0, 0, 0, err
	}
	plain = time.Since(t0)
	if err := f.Sync(); err != nil {
		return 0, 0, 0, err
	}
	synced = time.Since(t0)
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, 0, err
	}
	return plain, synced, fi.Size(), nil
}

// writeChunks writes dump in 32 KiB pieces, as io.Copy from a dump tool's
// pipe would.
func writeChunks(w io.Writer, dump []byte) error {
	for p := dump; len(p) > 0; {
		n := min(32<<10, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// pgDump returns n bytes of text shaped like pg_dump output: a schema, then
// COPY blocks of rows with ids, names, timestamps, amounts and statuses,
// from a fixed seed.
func pgDump(n int) []byte {
	r := rand.New(rand.NewSource(42))
	var b bytes.Buffer
	b.Grow(n + 4096)
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n")
	b.WriteString("CREATE TABLE public.orders (\n    id bigint NOT NULL,\n    customer text NOT NULL,\n    placed timestamp with time zone NOT NULL,\n    amount numeric(12,2) NOT NULL,\n    status text NOT NULL\n);\n\n")
	b.WriteString("COPY public.orders (id, customer, placed, amount, status) FROM stdin;\n")
	first := []string{"Anna", "Bert", "Carla", "Dirk", "Eva", "Frans", "Greta", "Hugo", "Ilse", "Joost", "Karin", "Lars"}
	last := []string{"de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos"}
	status := []string{"placed", "paid", "shipped", "delivered", "returned"}
	line := make([]byte, 0, 128)
	for id := 1; b.Len() < n; id++ {
		line = line[:0]
		line = strconv.AppendInt(line, int64(id), 10)
		line = append(line, '\t')
		line = append(line, first[r.Intn(len(first))]...)
		line = append(line, ' ')
		line = append(line, last[r.Intn(len(last))]...)
		line = append(line, '\t')
		line = time.Unix(1577836800+int64(id)*37+int64(r.Intn(30)), 0).UTC().AppendFormat(line, "2006-01-02 15:04:05+00")
		line = append(line, '\t')
		line = strconv.AppendInt(line, int64(r.Intn(100000)), 10)
		line = append(line, '.')
		cents := r.Intn(100)
		line = append(line, byte('0'+cents/10), byte('0'+cents%10))
		line = append(line, '\t')
		line = append(line, status[r.Intn(len(status))]...)
		line = append(line, '\n')
		b.Write(line)
		if id%1000000 == 0 {
			b.WriteString("\\.\n\nCOPY public.orders (id, customer, placed, amount, status) FROM stdin;\n")
		}
	}
	return b.Bytes()[:n]
}

type timing struct{ median, min time.Duration }

func timeCommand(env []string, n int, name string, args ...string) (timing, error) {
	return timeFunc(n, func() error {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		return nil
	}), nil
}

func timeFunc(n int, f func() error) timing {
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := f(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return timing{median: ds[len(ds)/2], min: ds[0]}
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
