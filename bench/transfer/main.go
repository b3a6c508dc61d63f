// Command transfer measures "dysnomia snapshots push" over ssh against the
// practical limit measured in the same run: sending the same snapshot files
// through the same ssh connection setup with cat, to /dev/null on the other
// side.
//
// It starts its own sshd on 127.0.0.1 (a random port, host and client keys
// made for the run, see internal/testutil/sshtest), makes a source store of
// poorly compressible snapshots (random bytes; -mib in all, in -parts
// snapshots of as many components), and then, reps times, alternately:
//
//   - push: "dysnomia snapshots push target" into an empty target state
//     directory (removed and flushed to disk between rounds, untimed), which
//     verifies each snapshot before sending it, and on the receiving side
//     verifies it again, writes it and fsyncs it;
//   - limit: "cat FILES | ssh target 'cat > /dev/null'" with the same ssh
//     command and options.
//
// After one untimed round of each, the headline is the median of the
// per-round ratios push/limit (target:
// at most 1.1). Also printed, for reading the ratio: the same cat into a
// file on the target's disk followed by sync, which is what writing the
// snapshots durably costs at the least.
//
// Run it as root (sshd) from the repository root:
//
//	go run ./bench/transfer [-mib 1024] [-parts 4] [-reps 5]
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/testutil/sshtest"
)

func main() {
	mib := flag.Int("mib", 1024, "MiB of snapshot data pushed")
	parts := flag.Int("parts", 4, "snapshots (one per component) the data is split into")
	reps := flag.Int("reps", 5, "alternating repetitions of the push and its limit")
	flag.BoolVar(&verbose, "v", false, "print what each push says, with the time since it started")
	flag.Parse()
	if err := run(*mib, *parts, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "bench/transfer:", err)
		os.Exit(1)
	}
}

var verbose bool

func run(mib, parts, reps int) error {
	root, err := os.MkdirTemp("", "dysnomia-bench-transfer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	binDir := filepath.Join(root, "bin")
	bin := filepath.Join(binDir, "dysnomia")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dysnomia")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	srcState := filepath.Join(root, "source")
	dstState := filepath.Join(root, "target")
	sink := filepath.Join(root, "sink")

	h, err := sshtest.New(sshtest.Options{Loopback: true, Env: []string{
		"PATH=" + binDir + ":/usr/bin:/bin",
		"DYSNOMIA_STATEDIR=" + dstState,
	}})
	if h != nil {
		defer h.Close()
	}
	if err != nil {
		return err
	}
	ssh := strings.Fields(h.SSH())

	// The source store: parts snapshots of random bytes.
	s := store.Open(srcState)
	per := int64(mib) << 20 / int64(parts)
	var files []string
	for i := 0; i < parts; i++ {
		k := store.Key{Container: "fileset", Component: fmt.Sprintf("part%d", i)}
		c, err := s.Commit(context.Background(), k, store.Meta{Module: "bench"}, func(d *store.Dump) error {
			w, err := d.CreateFast("data")
			if err != nil {
				return err
			}
			if _, err := io.CopyN(w, rand.Reader, per); err != nil {
				return err
			}
			return w.Close()
		})
		if err != nil {
			return err
		}
		err = filepath.Walk(s.SnapshotDir(c.Snapshot), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return err
		}
		total += fi.Size()
	}
	fmt.Printf("%d snapshots, %d files, %.1f MiB stored; ssh: %s; load average before: %s\n", parts, len(files), float64(total)/(1<<20), h.SSH(), loadavg())

	reset := func() error {
		for _, p := range []string{dstState, sink} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		return exec.Command("sync").Run()
	}
	push := func() (time.Duration, error) {
		cmd := exec.Command(bin, "snapshots", "push", h.Name)
		cmd.Env = append(os.Environ(), "DYSNOMIA_STATEDIR="+srcState, "DYSNOMIA_SSH="+h.SSH())
		if verbose {
			begin := time.Now()
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() {
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					fmt.Printf("  %6.2f s  %s\n", time.Since(begin).Seconds(), sc.Text())
				}
			}()
			cmd.Stderr = pw
		}
		return timed(cmd, nil)
	}
	catTo := func(remote string) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			cat := exec.Command("cat", files...)
			pipe, err := cat.StdoutPipe()
			if err != nil {
				return 0, err
			}
			cmd := exec.Command(ssh[0], append(ssh[1:], h.Name, "--", remote)...)
			return timed(cmd, cat, pipe)
		}
	}
	limit := catTo("cat > /dev/null")
	durable := catTo("cat > " + sink + " && sync " + sink)

	// One untimed round of each warms the page cache and the disk.
	for _, f := range []func() (time.Duration, error){push, limit, durable} {
		if err := reset(); err != nil {
			return err
		}
		if _, err := f(); err != nil {
			return err
		}
	}
	var ratios, pushes, limits, disks []float64
	for r := 1; r <= reps; r++ {
		var d [3]time.Duration
		for i, f := range []func() (time.Duration, error){push, limit, durable} {
			if err := reset(); err != nil {
				return err
			}
			if d[i], err = f(); err != nil {
				return err
			}
		}
		ratio := d[0].Seconds() / d[1].Seconds()
		ratios = append(ratios, ratio)
		pushes = append(pushes, d[0].Seconds())
		limits = append(limits, d[1].Seconds())
		disks = append(disks, d[2].Seconds())
		fmt.Printf("round %d: push %.2f s (%.0f MiB/s), cat|ssh to /dev/null %.2f s, cat|ssh to a file + sync %.2f s; ratio %.3f; load %s\n",
			r, d[0].Seconds(), float64(total)/(1<<20)/d[0].Seconds(), d[1].Seconds(), d[2].Seconds(), ratio, loadavg())
	}
	fmt.Printf("median: push %.2f s, limit %.2f s, to disk %.2f s; ratio push / (cat | ssh to /dev/null) = %.3f (goal ≤ 1.1); push / (to disk) = %.3f\n",
		median(pushes), median(limits), median(disks), median(ratios), median(pushes)/median(disks))
	return nil
}

// timed runs cmd (fed by the running producer's output when given) and
// returns how long it took until both ended.
func timed(cmd *exec.Cmd, producer *exec.Cmd, stdin ...io.Reader) (time.Duration, error) {
	var errb bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	if len(stdin) > 0 {
		cmd.Stdin = stdin[0]
	}
	begin := time.Now()
	if producer != nil {
		if err := producer.Start(); err != nil {
			return 0, err
		}
	}
	err := cmd.Run()
	if producer != nil {
		if perr := producer.Wait(); err == nil {
			err = perr
		}
	}
	d := time.Since(begin)
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	return d, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
