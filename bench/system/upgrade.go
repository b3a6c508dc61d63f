package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

// upgrade measures the restore a switch does after a PostgreSQL server
// upgrade (-upgrade-scale N): a pgbench database of scale N on server A,
// switched to a config whose container is server B (another cluster, as a
// major upgrade starts on a new, empty one) with another serverPackage.
// Each round restores the pre-switch snapshot's state directory, drops the
// database on B and times `system switch` of the new config (which creates
// the database by restoring the pre-upgrade snapshot, until the swap's
// synchronous commit: durable; no database is replaced on B); then, the
// practical limit, `zstd -dc dump.pgdump.zst | pg_restore` of the same
// snapshot file into an empty database on B (pg_restore's own commits are
// synchronous, so both end durable).
func upgrade(scale, rounds int) error {
	root, err := os.MkdirTemp("", "dysnomia-bench-upgrade-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	os.Chmod(root, 0o755)
	bin := filepath.Join(root, "dysnomia")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dysnomia")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	a, err := pgtest.New(pgtest.Options{})
	if err != nil {
		return fmt.Errorf("start server A: %w", err)
	}
	defer a.Stop()
	b, err := pgtest.New(pgtest.Options{})
	if err != nil {
		return fmt.Errorf("start server B: %w", err)
	}
	defer b.Stop()

	store := filepath.Join(root, "nix", "store")
	state := filepath.Join(root, "state")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "NIX_STORE_DIR=" + store}
	comp := storePath(store, 1, "app")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		return err
	}
	config := func(srv *pgtest.Server, pkg string) map[string]any {
		props := map[string]any{"timeout": 10}
		for _, p := range srv.Properties() {
			props[p.Key] = p.Value()
		}
		return map[string]any{
			"version": 1, "stateDir": state,
			"containers": map[string]any{"postgresql-database": map[string]any{
				"type": "postgresql-database", "properties": props, "serverPackage": storePath(store, 900, pkg)}},
			"components": map[string]any{"postgresql-database": map[string]any{"app": map[string]any{"path": comp}}},
		}
	}
	tops := map[string]string{}
	for name, cfg := range map[string]map[string]any{"1": config(a, "postgresql-15"), "2": config(b, "postgresql-16")} {
		data, _ := json.MarshalIndent(cfg, "", "  ")
		top := filepath.Join(root, "systems", name+"-nixos-system")
		if err := write(filepath.Join(top, "etc", "dysnomia", "system.json"), string(data)); err != nil {
			return err
		}
		tops[name] = top
	}
	cfg1 := filepath.Join(tops["1"], "etc", "dysnomia", "system.json")
	cfg2 := filepath.Join(tops["2"], "etc", "dysnomia", "system.json")
	if out, err := runBin(bin, env, "system", "switch", "--config", cfg1); err != nil {
		return fmt.Errorf("switch to server A: %w\n%s", err, out)
	}
	fill := time.Now()
	if out, err := a.Command("app", "pgbench", "-i", "-q", "-s", fmt.Sprint(scale)).CombinedOutput(); err != nil {
		return fmt.Errorf("pgbench -i: %w\n%s", err, out)
	}
	size := mustSQL(a, "app", "select pg_size_pretty(pg_database_size('app'))")
	fmt.Printf("pgbench scale %d: %s on server A, filled in %.1fs; load %s\n", scale, strings.TrimSpace(size), time.Since(fill).Seconds(), loadavg())
	if out, err := runBin(bin, env, "system", "pre-switch", "--current", cfg1, tops["2"], "switch"); err != nil {
		return fmt.Errorf("pre-switch: %w\n%s", err, out)
	}
	saved := filepath.Join(root, "state-after-pre-switch")
	if out, err := exec.Command("cp", "-a", state, saved).CombinedOutput(); err != nil {
		return fmt.Errorf("save the state: %w\n%s", err, out)
	}
	dumps, _ := filepath.Glob(filepath.Join(state, "snapshots", "postgresql-database", "app", "*", "dump.pgdump.zst*"))
	sort.Strings(dumps)
	if len(dumps) == 0 {
		return fmt.Errorf("no snapshot file in %s", state)
	}

	var sw, plain []time.Duration
	for r := 1; r <= rounds; r++ {
		os.RemoveAll(state)
		if out, err := exec.Command("cp", "-a", saved, state).CombinedOutput(); err != nil {
			return fmt.Errorf("reset the state: %w\n%s", err, out)
		}
		mustSQL(b, "postgres", `drop database if exists app`)
		mustSQL(b, "postgres", `drop database if exists plain`)
		mustSQL(b, "postgres", "checkpoint")
		start := time.Now()
		out, err := runBin(bin, env, "system", "switch", "--config", cfg2)
		d := time.Since(start)
		if err != nil || !strings.Contains(out, "pre-upgrade snapshot") {
			return fmt.Errorf("round %d: switch to server B: %v\n%s", r, err, out)
		}
		rows := strings.TrimSpace(mustSQL(b, "app", "select count(*) from pgbench_accounts"))
		if rows != fmt.Sprint(scale*100000) {
			return fmt.Errorf("round %d: %s accounts on B after the switch, want %d", r, rows, scale*100000)
		}
		sw = append(sw, d)

		mustSQL(b, "postgres", "checkpoint")
		mustSQL(b, "postgres", `create database plain template template0`)
		start = time.Now()
		if err := plainRestore(b, dumps); err != nil {
			return fmt.Errorf("round %d: plain pg_restore: %w", r, err)
		}
		p := time.Since(start)
		plain = append(plain, p)
		fmt.Printf("round %d (load %s): switch with the upgrade's restore %.2fs, plain pg_restore %.2fs, ratio %.3f\n",
			r, loadavg(), d.Seconds(), p.Seconds(), d.Seconds()/p.Seconds())
	}
	sort.Slice(sw, func(i, j int) bool { return sw[i] < sw[j] })
	sort.Slice(plain, func(i, j int) bool { return plain[i] < plain[j] })
	fmt.Printf("median: switch %.2fs, plain pg_restore %.2fs: ratio %.3f (goal <= 1.1)\n", median(sw).Seconds(), median(plain).Seconds(), ratio(sw, plain))
	return nil
}

// mustSQL runs sql on db of srv; a failure ends the benchmark.
func mustSQL(srv *pgtest.Server, db, sql string) string {
	out, err := srv.QueryPsql(db, sql)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/system: %s: %v\n", sql, err)
		os.Exit(1)
	}
	return out
}

// plainRestore is `zstd -dc FILES | pg_restore --exit-on-error -d plain`
// on srv.
func plainRestore(srv *pgtest.Server, files []string) error {
	unzip := exec.Command("zstd", append([]string{"-dcq"}, files...)...)
	load := srv.Command("plain", "pg_restore", "--exit-on-error", "-d", "plain")
	pipe, err := unzip.StdoutPipe()
	if err != nil {
		return err
	}
	load.Stdin = pipe
	var stderr strings.Builder
	load.Stderr = &stderr
	if err := unzip.Start(); err != nil {
		return err
	}
	if err := load.Run(); err != nil {
		unzip.Process.Kill()
		unzip.Wait()
		return fmt.Errorf("%w: %s", err, stderr.String())
	}
	return unzip.Wait()
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
