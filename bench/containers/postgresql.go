package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

// initScript is each component's init script: a small schema with data.
const initScript = `create table users (id serial primary key, name text not null, created timestamptz not null default now());
create index users_name on users (name);
insert into users (name) select 'user ' || g from generate_series(1, 100) g;
`

// runPostgreSQL measures "containers deploy" of n new postgresql-database
// components, each with initScript, against the one-session floor: one psql
// session that runs, for each of them, CREATE DATABASE, \connect to it and
// the script in one transaction. Both run on a durable throwaway server
// (fsync on); between rounds every database is dropped and the state
// directory removed (untimed, then a CHECKPOINT).
func runPostgreSQL(bin string, n, rounds int) error {
	srv, err := pgtest.New(pgtest.Options{Durable: true})
	if err != nil {
		return err
	}
	defer srv.Stop()
	root := filepath.Join(srv.Dir, "deploy")
	components := filepath.Join(root, "components", "postgresql-database")
	containers := filepath.Join(root, "containers")
	for _, d := range []string{components, containers} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	os.Chmod(srv.Dir, 0o755)
	var c strings.Builder
	c.WriteString("type=postgresql-database\n")
	for _, p := range srv.Properties() {
		fmt.Fprintf(&c, "%s=%s\n", p.Key, strings.Join(p.Values, " "))
	}
	if err := os.WriteFile(filepath.Join(containers, "postgresql-database"), []byte(c.String()), 0o644); err != nil {
		return err
	}
	var floor strings.Builder
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("app-%03d", i)
		dir := filepath.Join(root, "store", fmt.Sprintf("%032d-%s", i, names[i]))
		if err := os.MkdirAll(filepath.Join(dir, "postgresql-databases"), 0o755); err != nil {
			return err
		}
		script := filepath.Join(dir, "postgresql-databases", "init.sql")
		if err := os.WriteFile(script, []byte(initScript), 0o644); err != nil {
			return err
		}
		if err := os.Symlink(dir, filepath.Join(components, names[i])); err != nil {
			return err
		}
		fmt.Fprintf(&floor, "create database %q;\n\\connect %s\nbegin;\n\\i %s\ncommit;\n\\connect postgres\n", names[i], names[i], script)
	}
	floorFile := filepath.Join(root, "floor.sql")
	if err := os.WriteFile(floorFile, []byte(floor.String()), 0o644); err != nil {
		return err
	}
	for _, p := range []string{root, filepath.Join(root, "store"), floorFile} {
		os.Chmod(p, 0o755)
	}
	env := []string{
		"PATH=" + srv.BinDir + ":/usr/bin:/bin",
		"HOME=" + root,
		"NIX_STORE_DIR=" + filepath.Join(root, "store"),
		"DYSNOMIA_STATEDIR=" + filepath.Join(root, "state"),
		"DYSNOMIA_CONTAINERS_PATH=" + containers,
		"DYSNOMIA_COMPONENTS_PATH=" + filepath.Dir(components),
	}
	reset := func() error {
		os.RemoveAll(filepath.Join(root, "state"))
		q := "select string_agg(format('drop database %I;', datname), E'\\n') from pg_database where datname like 'app-%'"
		drops, err := srv.QueryPsql("postgres", q)
		if err != nil {
			return err
		}
		if drops != "" {
			cmd := srv.Command("postgres", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1")
			cmd.Stdin = strings.NewReader(drops)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("drop databases: %v\n%s", err, out)
			}
		}
		_, err = srv.QueryPsql("postgres", "checkpoint")
		return err
	}
	count := func() string {
		out, _ := srv.QueryPsql("postgres", "select count(*) from pg_database where datname like 'app-%'")
		return out
	}

	fmt.Printf("\npostgresql-database: containers deploy of %d new components (each: CREATE DATABASE + init script) on PostgreSQL %s; load %s\n", n, must(srv.QueryPsql("postgres", "show server_version")), loadavg())
	var ours, floors, ratios []float64
	for r := 0; r < rounds; r++ {
		timeFloor := func() (time.Duration, error) {
			if err := reset(); err != nil {
				return 0, err
			}
			cmd := srv.Command("postgres", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", floorFile)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = io.Discard, &out
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			if err != nil {
				return d, fmt.Errorf("floor: %v\n%s", err, out.String())
			}
			if got := count(); got != fmt.Sprint(n) {
				return d, fmt.Errorf("floor created %s databases, want %d", got, n)
			}
			return d, nil
		}
		timeOurs := func() (time.Duration, error) {
			if err := reset(); err != nil {
				return 0, err
			}
			cmd := exec.Command(bin, "containers", "deploy")
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			d := time.Since(start)
			if err != nil {
				return d, fmt.Errorf("containers deploy: %v\n%s", err, out)
			}
			if got := count(); got != fmt.Sprint(n) {
				return d, fmt.Errorf("deploy created %s databases, want %d:\n%s", got, n, out)
			}
			return d, nil
		}
		first, second := timeFloor, timeOurs
		if r%2 == 1 {
			first, second = timeOurs, timeFloor
		}
		d1, err := first()
		if err != nil {
			return err
		}
		d2, err := second()
		if err != nil {
			return err
		}
		f, o := d1, d2
		if r%2 == 1 {
			f, o = d2, d1
		}
		floors, ours = append(floors, f.Seconds()), append(ours, o.Seconds())
		ratios = append(ratios, o.Seconds()/f.Seconds())
		fmt.Printf("round %d (load %s): one psql session %.2fs, containers deploy %.2fs, ratio %.3f\n", r+1, loadavg(), f.Seconds(), o.Seconds(), ratios[r])
	}
	ratio := fmedian(ours) / fmedian(floors)
	verdict := "met"
	if ratio > 1.2 {
		verdict = "MISSED"
	}
	fmt.Printf("medians of %d rounds: one psql session %.2fs, containers deploy %.2fs\n", rounds, fmedian(floors), fmedian(ours))
	fmt.Printf("deploy / one-session floor: %.3f (median of rounds %.3f; goal <= 1.2: %s)\n", ratio, fmedian(ratios), verdict)
	return reset()
}

func must(s string, err error) string {
	if err != nil {
		return "?"
	}
	return s
}

func fmedian(xs []float64) float64 {
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
