package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
	"github.com/dysnomia-go/dysnomia/internal/testutil/sshtest"
)

// side is one side of a transfer: a state directory, containers and
// components of its own.
type side struct {
	root, state string
	env         []string
}

func newSide(t *testing.T) *side {
	t.Helper()
	m := &side{}
	m.env, m.state = StateEnv(t)
	m.root = filepath.Dir(m.state)
	return m
}

// container writes a container file.
func (m *side) container(t *testing.T, name, typ string, props config.Properties) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "type=%s\n", typ)
	for _, kv := range props.Env() {
		fmt.Fprintln(&b, kv)
	}
	snapWrite(t, filepath.Join(m.root, "containers", name), b.String())
}

// component declares a component with the given files.
func (m *side) component(t *testing.T, container, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(m.root, "components", container, name)
	os.MkdirAll(dir, 0o755)
	for f, content := range files {
		snapWrite(t, filepath.Join(dir, f), content)
	}
	return dir
}

func (m *side) run(t *testing.T, args ...string) Result {
	t.Helper()
	return Run(t, m.env, "dysnomia", args...)
}

func (m *side) must(t *testing.T, args ...string) Result {
	t.Helper()
	return MustRun(t, m.env, "dysnomia", args...)
}

func (m *side) list(t *testing.T, args ...string) []string {
	t.Helper()
	return lines(m.must(t, append([]string{"snapshots", "list"}, args...)...).Stdout)
}

// checkClean fails t unless snapshots check finds nothing wrong.
func (m *side) checkClean(t *testing.T) {
	t.Helper()
	if r := m.run(t, "snapshots", "check"); r.Code != 0 {
		t.Errorf("snapshots check on %s: exit %d\n%s%s", m.root, r.Code, r.Stdout, r.Stderr)
	}
}

// target is a second host reached over ssh: its sessions run with its
// environment (state directory, containers, components, and a PATH where
// the test's dysnomia is found).
type target struct {
	*side
	host *sshtest.Host
}

func newTarget(t *testing.T) *target {
	t.Helper()
	sshtest.Require(t)
	m := newSide(t)
	env := append([]string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin"}, m.env...)
	return &target{side: m, host: sshtest.Start(t, sshtest.Options{Env: env})}
}

// reach lets m reach tg with DYSNOMIA_SSH.
func (m *side) reach(tg *target) {
	m.env = append(m.env, "DYSNOMIA_SSH="+tg.host.SSH())
}

type summary struct {
	Version   int     `json:"version"`
	Direction string  `json:"direction"`
	Host      string  `json:"host"`
	Sent      int     `json:"sent"`
	Skipped   int     `json:"skipped"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	Snapshots []struct {
		Snapshot, Status string
		Generation       int
	} `json:"snapshots"`
}

func parseSummary(t *testing.T, r Result) summary {
	t.Helper()
	var s summary
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("--json output %q: %v\nstderr:\n%s", r.Stdout, err, r.Stderr)
	}
	if s.Version != 1 {
		t.Errorf("summary version %d", s.Version)
	}
	return s
}

const pgInit = "create table notes (id int primary key, body text not null);\ninsert into notes values (1, 'from the init script');\n"

// pgMachine is a host with a postgresql-database container on its own
// server and the component app declared.
func pgMachine(t *testing.T, m *side, srv *pgtest.Server) {
	t.Helper()
	m.container(t, "postgresql-database", "postgresql-database", srv.Properties())
	m.component(t, "postgresql-database", "app", map[string]string{"postgresql-databases/init.sql": pgInit})
}

func rows(t *testing.T, srv *pgtest.Server) string {
	t.Helper()
	return srv.Psql(t, "app", "select string_agg(id || '=' || body, ',' order by id) from notes")
}

var app = []string{"--container", "postgresql-database", "--component", "app"}

func TestPushPull(t *testing.T) {
	tg := newTarget(t)
	src := newSide(t)
	src.reach(tg)
	srv := pgtest.StartNew(t, pgtest.Options{})
	pgMachine(t, src, srv)
	src.must(t, append([]string{"activate"}, app...)...)
	src.must(t, append([]string{"snapshot"}, app...)...)
	srv.Psql(t, "app", "insert into notes values (2, 'two')")
	src.must(t, append([]string{"snapshot"}, app...)...)
	history := src.list(t)
	if len(history) != 2 {
		t.Fatalf("source history %v", history)
	}

	first := parseSummary(t, src.must(t, "snapshots", "push", tg.host.Name, "--json"))
	if first.Sent != 2 || first.Skipped != 0 || first.Bytes == 0 || first.Direction != "push" || first.Host != tg.host.Name {
		t.Errorf("first push: %+v", first)
	}
	if d := cmp.Diff(history, tg.list(t)); d != "" {
		t.Errorf("target generations after push (-source +target):\n%s", d)
	}
	tg.checkClean(t)

	again := parseSummary(t, src.must(t, "snapshots", "push", tg.host.Name, "--json"))
	if again.Sent != 0 || again.Skipped != 2 || again.Bytes != 0 {
		t.Errorf("second push sent something: %+v", again)
	}
	if d := cmp.Diff(history, tg.list(t)); d != "" {
		t.Errorf("target generations after the second push (-source +target):\n%s", d)
	}

	// Pull into a third, empty host; the plain output names each.
	third := newSide(t)
	third.reach(tg)
	r := third.must(t, "snapshots", "pull", tg.host.Name, "-C", "postgresql-database")
	want := []string{"sent " + history[0], "sent " + history[1]}
	if d := cmp.Diff(want, lines(r.Stdout)); d != "" {
		t.Errorf("pull output (-want +got):\n%s", d)
	}
	if d := cmp.Diff(history, third.list(t)); d != "" {
		t.Errorf("pulled generations (-source +pulled):\n%s", d)
	}
	third.checkClean(t)
	pulled := parseSummary(t, third.must(t, "snapshots", "pull", tg.host.Name, "--json"))
	if pulled.Sent != 0 || pulled.Skipped != 2 || pulled.Bytes != 0 {
		t.Errorf("second pull: %+v", pulled)
	}
}

type moveSummary struct {
	Version     int
	Snapshot    string
	Sent        int
	Deactivated bool
	Steps       []struct{ Step string }
}

func TestMove(t *testing.T) {
	tg := newTarget(t)
	src := newSide(t)
	src.reach(tg)
	srcPG, dstPG := pgtest.StartNew(t, pgtest.Options{}), pgtest.StartNew(t, pgtest.Options{})
	pgMachine(t, src, srcPG)
	pgMachine(t, tg.side, dstPG)
	src.must(t, append([]string{"activate"}, app...)...)
	srcPG.Psql(t, "app", "insert into notes select g, md5(g::text) from generate_series(2, 5000) g")

	r := src.must(t, append([]string{"move", "--to", tg.host.Name, "--deactivate", "--json"}, app...)...)
	var sum moveSummary
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("move --json: %v: %q", err, r.Stdout)
	}
	var steps []string
	for _, s := range sum.Steps {
		steps = append(steps, s.Step)
	}
	wantSteps := []string{"check dysnomia on target", "lock", "snapshot", "push to target", "activate on target", "restore on target", "unlock", "deactivate"}
	if d := cmp.Diff(wantSteps, steps); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if sum.Version != 1 || sum.Sent != 1 || !sum.Deactivated || !strings.HasPrefix(sum.Snapshot, "postgresql-database/app/") {
		t.Errorf("summary %+v", sum)
	}
	if got, want := rows(t, dstPG), rows(t, srcPG); got != want || !strings.Contains(got, "5000=") {
		t.Errorf("target rows differ from the source's:\n%.200s\nwant\n%.200s", got, want)
	}
	if d := cmp.Diff(src.list(t), tg.list(t)); d != "" {
		t.Errorf("generations (-source +target):\n%s", d)
	}
	if out := tg.must(t, "containers", "activated").Stdout; !strings.Contains(out, "postgresql-database/app") {
		t.Errorf("app is not active on the target: %q", out)
	}
	if out := src.must(t, "containers", "activated").Stdout; strings.Contains(out, "postgresql-database/app") {
		t.Errorf("app is still active on the source after --deactivate: %q", out)
	}
	tg.checkClean(t)
}

// moveFails runs a move that must fail at step, and checks that the
// source is unchanged and can be locked again (so it was unlocked).
func moveFails(t *testing.T, src *side, srcPG *pgtest.Server, step string, extra ...string) Result {
	t.Helper()
	before, gens := rows(t, srcPG), src.list(t)
	r := src.run(t, append(append([]string{"move", "--to", "target"}, app...), extra...)...)
	if r.Code == 0 {
		t.Fatalf("move succeeded:\n%s", r.Stderr)
	}
	if want := "move postgresql-database/app to target: " + step + ": "; !strings.Contains(r.Stderr, want) {
		t.Errorf("move's error does not name the step %q:\n%s", step, r.Stderr)
	}
	if got := rows(t, srcPG); got != before {
		t.Errorf("source rows changed: %q, were %q", got, before)
	}
	if !strings.Contains(src.must(t, "containers", "activated").Stdout, "postgresql-database/app") {
		t.Error("the source is no longer active")
	}
	src.must(t, append([]string{"lock"}, app...)...)
	src.must(t, append([]string{"unlock"}, app...)...)
	_ = gens
	return r
}

func databases(t *testing.T, srv *pgtest.Server) []string {
	t.Helper()
	return strings.Fields(srv.Psql(t, "postgres", "select string_agg(datname, ' ' order by datname) from pg_database where not datistemplate and datname <> 'postgres'"))
}

// TestMoveFailures: a target that does not declare the component, one
// whose restore fails (the snapshot's owner role does not exist there),
// and one without dysnomia.
func TestMoveFailures(t *testing.T) {
	tg := newTarget(t)
	src := newSide(t)
	src.reach(tg)
	srcPG, dstPG := pgtest.StartNew(t, pgtest.Options{}), pgtest.StartNew(t, pgtest.Options{})
	pgMachine(t, src, srcPG)
	tg.container(t, "postgresql-database", "postgresql-database", dstPG.Properties())
	src.must(t, append([]string{"activate"}, app...)...)
	srcPG.Psql(t, "app", "insert into notes values (2, 'source only')")

	t.Run("no remote dysnomia", func(t *testing.T) {
		gens := src.list(t)
		r := moveFails(t, src, srcPG, "check dysnomia on target", "--remote-dysnomia", "/nonexistent/dysnomia")
		if !strings.Contains(r.Stderr, "/nonexistent/dysnomia not found there (exit 127)") {
			t.Errorf("no clear error:\n%s", r.Stderr)
		}
		if strings.Contains(r.Stderr, ": lock") {
			t.Errorf("the source was locked before the target was checked:\n%s", r.Stderr)
		}
		if d := cmp.Diff(gens, src.list(t)); d != "" {
			t.Errorf("the source took a snapshot (-before +after):\n%s", d)
		}
		src.must(t, append([]string{"snapshot"}, app...)...)
		r = src.run(t, "snapshots", "push", "target", "--remote-dysnomia", "/nonexistent/dysnomia")
		if r.Code == 0 || !strings.Contains(r.Stderr, "not found there (exit 127)") {
			t.Errorf("push to a target without dysnomia: exit %d\n%s", r.Code, r.Stderr)
		}
	})

	t.Run("component not declared", func(t *testing.T) {
		r := moveFails(t, src, srcPG, "activate on target")
		if !strings.Contains(r.Stderr, "(the source is unlocked and unchanged)") {
			t.Errorf("the error does not say the source was unlocked:\n%s", r.Stderr)
		}
		if got := databases(t, dstPG); len(got) != 0 {
			t.Errorf("the target has databases %v", got)
		}
		tg.checkClean(t)
	})

	t.Run("restore fails", func(t *testing.T) {
		// The source's table now belongs to a role the target lacks, so
		// pg_restore fails there; the target's database keeps the state
		// its activation gave it.
		tg.component(t, "postgresql-database", "app", map[string]string{"postgresql-databases/init.sql": pgInit})
		srcPG.Psql(t, "postgres", "create role notes_owner")
		srcPG.Psql(t, "app", "alter table notes owner to notes_owner")
		moveFails(t, src, srcPG, "restore on target")
		if got := rows(t, dstPG); got != "1=from the init script" {
			t.Errorf("target rows after a failed restore: %q", got)
		}
		if got := databases(t, dstPG); !cmp.Equal(got, []string{"app"}) {
			t.Errorf("target databases after a failed restore: %v", got)
		}
		tg.checkClean(t)
	})
}

// TestPushLinkCut cuts the link in the middle of a 200 MB push of four
// snapshots: the target keeps only complete snapshots, and the next push
// sends exactly what is still missing.
func TestPushLinkCut(t *testing.T) {
	tg := newTarget(t)
	src := newSide(t)
	src.reach(tg)
	src.container(t, "fileset", "fileset", config.Properties{})
	const parts, size = 4, 50 << 20
	for i := 0; i < parts; i++ {
		name := fmt.Sprintf("part%d", i)
		dir := filepath.Join(src.root, "files", name)
		src.component(t, "fileset", name, map[string]string{".dysnomia-targetdir": dir, ".dysnomia-fileset": "mkdir data\n"})
		src.must(t, "activate", "-C", "fileset", "-c", name)
		f, err := os.Create(filepath.Join(dir, "data", "blob"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(f, rand.Reader, size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		src.must(t, "snapshot", "-C", "fileset", "-c", name)
	}
	history := src.list(t)
	// 200 Mbit/s: the push takes about eight seconds.
	if err := tg.host.Limit("200mbit"); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(filepath.Join(filepath.Dir(bin), "dysnomia"), "snapshots", "push", "target", "--json")
	cmd.Env = withPath(src.env)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Cut once the first snapshot is installed and the second is under way.
	deadline := time.Now().Add(60 * time.Second)
	for installed(t, tg.side) < 1 {
		select {
		case err := <-done:
			t.Fatalf("the push ended before the cut: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot arrived in a minute\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := tg.host.LinkDown(); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the push did not notice the cut link within a minute")
	}
	if err == nil {
		t.Fatalf("the push succeeded across a cut link\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), "run again to send the rest") {
		t.Errorf("the error does not say what to do:\n%s", errb.String())
	}
	cut := parseSummary(t, Result{Stdout: out.String(), Stderr: errb.String()})
	t.Logf("cut push: %d of %d sent, %d bytes, %.1f s; it said:\n%s", cut.Sent, parts, cut.Bytes, cut.Seconds, errb.String())
	if err := tg.host.LinkUp(); err != nil {
		t.Fatal(err)
	}
	if err := tg.host.Unlimit(); err != nil {
		t.Fatal(err)
	}
	// The server side gives up on the dead connection within seconds; then
	// its receiving dysnomia has ended and cleaned up.
	waitGone(t, tg.state)

	have := tg.list(t)
	// A snapshot installed just before the cut may not have been
	// confirmed to the sender.
	if len(have) == 0 || len(have) >= parts || cut.Sent > len(have) || cut.Sent < len(have)-1 {
		t.Fatalf("after the cut the target has %d snapshots (%v), the push reported %d sent", len(have), have, cut.Sent)
	}
	if d := cmp.Diff(history[:0], diffSet(have, history)); d != "" {
		t.Errorf("the target has snapshots the source lacks: %s", d)
	}
	tg.checkClean(t)

	rest := parseSummary(t, src.must(t, "snapshots", "push", "target", "--json"))
	missing := parts - len(have)
	t.Logf("re-run: %d sent, %d skipped, %d bytes, %.1f s", rest.Sent, rest.Skipped, rest.Bytes, rest.Seconds)
	if rest.Sent != missing || rest.Skipped != len(have) {
		t.Errorf("the re-run sent %d and skipped %d, want %d and %d", rest.Sent, rest.Skipped, missing, len(have))
	}
	// Exactly the missing snapshots' bytes, and a little framing.
	if lo, hi := int64(missing)*size, int64(missing)*size*1005/1000; rest.Bytes < lo || rest.Bytes > hi {
		t.Errorf("the re-run sent %d bytes, want %d to %d", rest.Bytes, lo, hi)
	}
	got, want := tg.list(t), append([]string(nil), history...)
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after the re-run (-source +target):\n%s", d)
	}
	tg.checkClean(t)
}

// installed counts the snapshot directories of m's store.
func installed(t *testing.T, m *side) int {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(m.state, "snapshots", "*", "*", "*"))
	return len(dirs)
}

// waitGone waits until no dysnomia process has the state directory open
// as its environment's DYSNOMIA_STATEDIR (the receiving end of a cut push).
func waitGone(t *testing.T, state string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !receiving(state) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the receiving dysnomia for %s still runs 30 s after the cut", state)
}

func receiving(state string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		env, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if !strings.Contains(string(env), "DYSNOMIA_STATEDIR="+state+"\x00") {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		if strings.Contains(string(cmdline), "receive") {
			return true
		}
	}
	return false
}

// diffSet lists what of a is not in b.
func diffSet(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	out := []string{}
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}
