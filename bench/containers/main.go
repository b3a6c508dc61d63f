// Command containers measures a no-op "dysnomia containers deploy": 100
// declared components (50 echo, 50 fileset) that are already active. The
// deployment must finish well under 150 ms and start no module process.
//
// Run it from the repository root:
//
//	go run ./bench/containers [-n 50] [-components 100]
//	go run ./bench/containers -postgresql 100 [-rounds 3]
//
// With -postgresql N it measures instead a deploy of N new
// postgresql-database components, each with an init script (a table, an
// index, 100 rows), on a durable throwaway server (as root), against the
// practical limit measured in the same run: one psql session that creates
// the same databases and runs the same script in each, in one transaction
// per database (see postgresql.go). The goal is a ratio of at most 1.2.
//
// It builds the binary, deploys once (activating everything), then times
// the no-op deployment and, as the practical limit measured in the same
// run, "dysnomia version": the cost of starting the binary at all. It
// proves that no module process starts in two ways: a run with recording
// executables named echo and fileset first on DYSNOMIA_MODULES_PATH (which
// take precedence over the built-in modules, so any module call would
// start them and leave a log), and, when strace is installed, a count of
// the processes the deployment executes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 50, "timed runs of each command")
	count := flag.Int("components", 100, "declared components (half echo, half fileset)")
	pg := flag.Int("postgresql", 0, "instead, measure a deploy of this many new postgresql-database components against one psql session (needs root and PostgreSQL)")
	rounds := flag.Int("rounds", 3, "with -postgresql: rounds of measurements")
	flag.Parse()
	var err error
	if *pg > 0 {
		err = runPG(*pg, *rounds)
	} else {
		err = run(*n, *count)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/containers:", err)
		os.Exit(1)
	}
}

func run(n, count int) error {
	root, err := os.MkdirTemp("", "dysnomia-bench-containers-")
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

	store := filepath.Join(root, "nix", "store")
	containers := filepath.Join(root, "containers")
	components := filepath.Join(root, "components")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + root,
		"NIX_STORE_DIR=" + store,
		"DYSNOMIA_STATEDIR=" + filepath.Join(root, "state"),
		"DYSNOMIA_CONTAINERS_PATH=" + containers,
		"DYSNOMIA_COMPONENTS_PATH=" + components,
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(os.MkdirAll(containers, 0o755))
	must(os.WriteFile(filepath.Join(containers, "echo"), []byte("type=echo\ngreeting=hello\n"), 0o644))
	must(os.WriteFile(filepath.Join(containers, "fileset"), []byte("type=fileset\n"), 0o644))
	for i := 0; i < count; i++ {
		typ := "echo"
		if i%2 == 1 {
			typ = "fileset"
		}
		name := fmt.Sprintf("%s-%03d", typ, i)
		p := filepath.Join(store, fmt.Sprintf("%032d", i)+"-"+name)
		must(os.MkdirAll(p, 0o755))
		if typ == "fileset" {
			must(os.WriteFile(filepath.Join(p, ".dysnomia-targetdir"), []byte(filepath.Join(root, "srv", name)+"\n"), 0o644))
			must(os.WriteFile(filepath.Join(p, ".dysnomia-fileset"), []byte("mkdir data\n"), 0o644))
		}
		must(os.MkdirAll(filepath.Join(components, typ), 0o755))
		must(os.Symlink(p, filepath.Join(components, typ, name)))
	}

	first := time.Now()
	out, err := runBin(bin, env, "containers", "deploy")
	if err != nil {
		return fmt.Errorf("first deploy: %w\n%s", err, out)
	}
	firstTime := time.Since(first)
	act, err := runBin(bin, env, "containers", "activated")
	if err != nil || strings.Count(act, "\n") != count {
		return fmt.Errorf("after the first deploy %d components are active, want %d: %v", strings.Count(act, "\n"), count, err)
	}

	// Proof 1: recording executables shadow the built-in modules.
	modules := filepath.Join(root, "modules")
	log := filepath.Join(root, "module-calls.log")
	must(os.MkdirAll(modules, 0o755))
	for _, typ := range []string{"echo", "fileset"} {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\n", typ, log)
		must(os.WriteFile(filepath.Join(modules, typ), []byte(script), 0o755))
	}
	shadowEnv := append(append([]string{}, env...), "DYSNOMIA_MODULES_PATH="+modules)
	out, err = runBin(bin, shadowEnv, "containers", "deploy")
	if err != nil {
		return fmt.Errorf("no-op deploy: %w\n%s", err, out)
	}
	calls := 0
	if data, err := os.ReadFile(log); err == nil {
		calls = strings.Count(string(data), "\n")
	}
	// Check that the shadowing works at all: one explicit activity on one
	// component must reach the recording executable.
	if out, err := runBin(bin, shadowEnv, "containers", "run", "-o", "lock", "-C", "echo"); err != nil {
		return fmt.Errorf("control run: %w\n%s", err, out)
	}
	control := 0
	if data, err := os.ReadFile(log); err == nil {
		control = strings.Count(string(data), "\n") - calls
	}

	// Proof 2: strace counts the programs the deployment executes.
	execs := -1
	if strace, err := exec.LookPath("strace"); err == nil {
		traceOut := filepath.Join(root, "strace.out")
		cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=execve", "-o", traceOut, bin, "containers", "deploy")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("strace: %w\n%s", err, out)
		}
		data, err := os.ReadFile(traceOut)
		if err != nil {
			return err
		}
		execs = len(regexp.MustCompile(`(?m)execve\(`).FindAll(data, -1))
	}

	noop, err := timeRuns(n, bin, env, "containers", "deploy")
	if err != nil {
		return err
	}
	version, err := timeRuns(n, bin, env, "version")
	if err != nil {
		return err
	}

	fmt.Printf("components: %d (%d echo, %d fileset), all active; %d timed runs each\n", count, (count+1)/2, count/2, n)
	fmt.Printf("first deploy (activates %d):      %8.1f ms\n", count, ms(firstTime))
	fmt.Printf("no-op deploy:      median %6.2f ms  p90 %6.2f ms  min %6.2f ms\n", ms(median(noop)), ms(pct(noop, 90)), ms(noop[0]))
	fmt.Printf("dysnomia version:  median %6.2f ms  p90 %6.2f ms  min %6.2f ms  (practical limit: starting the binary)\n", ms(median(version)), ms(pct(version, 90)), ms(version[0]))
	fmt.Printf("ratio no-op deploy / version (medians): %.2f\n", float64(median(noop))/float64(median(version)))
	fmt.Printf("target 150 ms: median is %.1f%% of it\n", 100*ms(median(noop))/150)
	fmt.Printf("module calls during the no-op deploy (recording modules on DYSNOMIA_MODULES_PATH): %d (control: an explicit lock of the echo container made %d)\n", calls, control)
	if execs >= 0 {
		fmt.Printf("programs executed by the no-op deploy (strace -f execve): %d (the binary itself)\n", execs)
	} else {
		fmt.Printf("strace not installed: process count skipped\n")
	}
	if calls != 0 || control != (count+1)/2 || execs > 1 {
		return fmt.Errorf("the no-op deploy started module processes")
	}
	return nil
}

// runPG builds the binary and runs runPostgreSQL.
func runPG(n, rounds int) error {
	root, err := os.MkdirTemp("", "dysnomia-bench-containers-")
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
	return runPostgreSQL(bin, n, rounds)
}

func runBin(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// timeRuns runs the binary n times (after one warm-up run) and returns the
// wall-clock durations, sorted.
func timeRuns(n int, bin string, env []string, args ...string) ([]time.Duration, error) {
	if _, err := runBin(bin, env, args...); err != nil {
		return nil, err
	}
	var ds []time.Duration
	for i := 0; i < n; i++ {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("%v: %w\n%s", args, err, out)
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds, nil
}

func median(ds []time.Duration) time.Duration { return ds[len(ds)/2] }

func pct(ds []time.Duration, p int) time.Duration { return ds[(len(ds)-1)*p/100] }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
