// Command system measures the NixOS entry points when nothing changed: a
// no-op "dysnomia system switch" and a no-op "dysnomia system pre-switch"
// over 100 declared, already-active components (half PostgreSQL databases on
// a real throwaway server, half filesets). The target is < 150 ms each.
//
// Run it from the repository root (as root, like the tests: the server runs
// as the postgres user):
//
//	go run ./bench/system [-n 50] [-components 100]
//	go run ./bench/system -upgrade-scale 70 [-rounds 3]   (see upgrade.go)
//
// It builds the binary, starts PostgreSQL, switches once (creating every
// database and fileset), then times, through the binary:
//
//   - system switch --config FILE       (nothing to do)
//   - system pre-switch TOPLEVEL switch (the candidate is the same system)
//   - system check FILE                 (practical limit: reading and
//     validating the config, which every system command does)
//   - version                           (practical limit: starting the binary)
//
// and prints the medians and their ratios to the limits. It proves that the
// no-op runs call no module and contact no server: the timed runs happen
// with the PostgreSQL server stopped (a connection attempt would fail), and
// with recording executables named postgresql-database and fileset first on
// DYSNOMIA_MODULES_PATH (they take precedence over the built-in modules, so
// any module call would leave a log line); a control run shows that they
// would.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

func main() {
	n := flag.Int("n", 50, "timed runs of each command")
	count := flag.Int("components", 100, "declared components (half PostgreSQL databases, half filesets)")
	upgradeScale := flag.Int("upgrade-scale", 0, "instead, measure a switch's restore after a PostgreSQL server upgrade, on a pgbench database of this scale (70 is about 1 GB), against plain pg_restore of the same snapshot")
	rounds := flag.Int("rounds", 3, "with -upgrade-scale: rounds of measurements")
	flag.Parse()
	if *upgradeScale > 0 {
		if err := upgrade(*upgradeScale, *rounds); err != nil {
			fmt.Fprintln(os.Stderr, "bench/system:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *count); err != nil {
		fmt.Fprintln(os.Stderr, "bench/system:", err)
		os.Exit(1)
	}
}

func run(n, count int) error {
	root, err := os.MkdirTemp("", "dysnomia-bench-system-")
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

	srv, err := pgtest.New(pgtest.Options{})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer srv.Stop()

	store := filepath.Join(root, "nix", "store")
	state := filepath.Join(root, "state")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "NIX_STORE_DIR=" + store}

	pgProps := map[string]any{"timeout": 1}
	for _, p := range srv.Properties() {
		pgProps[p.Key] = p.Value()
	}
	pgComps, fsComps := map[string]any{}, map[string]any{}
	for i := 0; i < count; i++ {
		if i%2 == 0 {
			name := fmt.Sprintf("db%03d", i)
			p := storePath(store, i, name)
			if err := write(filepath.Join(p, "postgresql-databases", "init.sql"), "create table t (x int);\ninsert into t values (1);\n"); err != nil {
				return err
			}
			pgComps[name] = map[string]any{"path": p}
		} else {
			name := fmt.Sprintf("files%03d", i)
			p := storePath(store, i, name)
			if err := write(filepath.Join(p, ".dysnomia-targetdir"), filepath.Join(root, "srv", name)+"\n"); err != nil {
				return err
			}
			if err := write(filepath.Join(p, ".dysnomia-fileset"), "mkdir data\n"); err != nil {
				return err
			}
			fsComps[name] = map[string]any{"path": p}
		}
	}
	cfg := map[string]any{
		"version":  1,
		"stateDir": state,
		"containers": map[string]any{
			"postgresql-database": map[string]any{"type": "postgresql-database", "properties": pgProps, "serverPackage": storePath(store, 999, "postgresql-15")},
			"fileset":             map[string]any{"type": "fileset"},
		},
		"components": map[string]any{"postgresql-database": pgComps, "fileset": fsComps},
		"snapshots":  map[string]any{"beforeUpgrade": "changed", "keep": 5},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	// The running system and the candidate: two toplevels, same config.
	running := filepath.Join(root, "systems", "1-nixos-system")
	candidate := filepath.Join(root, "systems", "2-nixos-system")
	for _, top := range []string{running, candidate} {
		if err := write(filepath.Join(top, "etc", "dysnomia", "system.json"), string(data)); err != nil {
			return err
		}
	}
	config := filepath.Join(running, "etc", "dysnomia", "system.json")

	first := time.Now()
	if out, err := runBin(bin, env, "system", "switch", "--config", config); err != nil {
		return fmt.Errorf("first switch: %w\n%s", err, out)
	}
	firstTime := time.Since(first)
	dbs, err := srv.QueryPsql("postgres", "select count(*) from pg_database where datname like 'db%'")
	if err != nil || strings.TrimSpace(dbs) != fmt.Sprint((count+1)/2) {
		return fmt.Errorf("after the first switch there are %q databases, want %d: %v", dbs, (count+1)/2, err)
	}
	act, err := runBin(bin, append(env, "DYSNOMIA_STATEDIR="+state), "containers", "activated")
	if err != nil || strings.Count(act, "\n") != count {
		return fmt.Errorf("after the first switch %d components are active, want %d: %v", strings.Count(act, "\n"), count, err)
	}

	// Recording modules shadow the built-in ones for the timed runs.
	modules := filepath.Join(root, "modules")
	log := filepath.Join(root, "module-calls.log")
	for _, typ := range []string{"postgresql-database", "fileset"} {
		if err := os.MkdirAll(modules, 0o755); err != nil {
			return err
		}
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\n", typ, log)
		if err := os.WriteFile(filepath.Join(modules, typ), []byte(script), 0o755); err != nil {
			return err
		}
	}
	shadow := append(append([]string{}, env...), "DYSNOMIA_MODULES_PATH="+modules)
	if err := srv.Halt(); err != nil {
		return err
	}
	switchArgs := []string{"system", "switch", "--config", config}
	preArgs := []string{"system", "pre-switch", candidate, "switch", "--current", config}
	noopSwitch, err := timeRuns(n, bin, shadow, switchArgs...)
	if err != nil {
		return err
	}
	noopPre, err := timeRuns(n, bin, shadow, preArgs...)
	if err != nil {
		return err
	}
	check, err := timeRuns(n, bin, shadow, "system", "check", config)
	if err != nil {
		return err
	}
	version, err := timeRuns(n, bin, shadow, "version")
	if err != nil {
		return err
	}
	calls := lines(log)
	// Control: one component whose path changed must reach the recorder.
	var c2 map[string]any
	if err := json.Unmarshal(data, &c2); err != nil {
		return err
	}
	newDB := storePath(store, 1000, "db000")
	if err := write(filepath.Join(newDB, "postgresql-databases", "init.sql"), "create table t (x int);\n"); err != nil {
		return err
	}
	c2["components"].(map[string]any)["postgresql-database"].(map[string]any)["db000"] = map[string]any{"path": newDB}
	data2, _ := json.Marshal(c2)
	control := filepath.Join(root, "control.json")
	if err := write(control, string(data2)); err != nil {
		return err
	}
	if out, err := runBin(bin, shadow, "system", "switch", "--config", control); err != nil {
		return fmt.Errorf("control switch: %w\n%s", err, out)
	}
	controlCalls := lines(log) - calls

	fmt.Printf("components: %d (%d PostgreSQL databases, %d filesets), all active; %d timed runs each; server stopped during the timed runs\n",
		count, (count+1)/2, count/2, n)
	fmt.Printf("first switch (creates all %d):      %8.1f ms\n", count, ms(firstTime))
	report := func(name string, ds []time.Duration) {
		fmt.Printf("%-22s median %6.2f ms  p90 %6.2f ms  min %6.2f ms\n", name+":", ms(median(ds)), ms(pct(ds, 90)), ms(ds[0]))
	}
	report("no-op system switch", noopSwitch)
	report("no-op pre-switch", noopPre)
	report("system check", check)
	report("dysnomia version", version)
	fmt.Printf("ratios (medians): switch/check %.2f  switch/version %.2f  pre-switch/check %.2f  pre-switch/version %.2f\n",
		ratio(noopSwitch, check), ratio(noopSwitch, version), ratio(noopPre, check), ratio(noopPre, version))
	fmt.Printf("target 150 ms: switch median is %.1f%% of it, pre-switch median %.1f%%\n", 100*ms(median(noopSwitch))/150, 100*ms(median(noopPre))/150)
	fmt.Printf("module calls during the no-op runs: %d (control: a switch with one changed database made %d)\n", calls, controlCalls)
	if calls != 0 || controlCalls != 1 {
		return fmt.Errorf("the no-op runs called modules, or the control did not")
	}
	if ms(median(noopSwitch)) >= 150 || ms(median(noopPre)) >= 150 {
		return fmt.Errorf("over the 150 ms target")
	}
	return nil
}

// storePath is <store>/<32-character hash>-<name>.
func storePath(store string, i int, name string) string {
	return filepath.Join(store, fmt.Sprintf("%032d", i)+"-"+name)
}

func write(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func lines(file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\n")
}

func runBin(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// timeRuns runs the binary n times (after one warm-up run, whose output is
// checked) and returns the wall-clock durations, sorted.
func timeRuns(n int, bin string, env []string, args ...string) ([]time.Duration, error) {
	if out, err := runBin(bin, env, args...); err != nil {
		return nil, fmt.Errorf("%v: %w\n%s", args, err, out)
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

func ratio(a, b []time.Duration) float64 { return float64(median(a)) / float64(median(b)) }
