package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

// sysMachine is a NixOS-like machine for the system commands: a fake Nix
// store (NIX_STORE_DIR) holding components, a state directory, candidate
// system toplevels laid out as NixOS lays them out
// (<toplevel>/etc/dysnomia/system.json), and a PostgreSQL server.
type sysMachine struct {
	t                  *testing.T
	env                []string
	root, state, store string
	srv                *pgtest.Server
	tops               int
	noCurrent          string          // a running-config path that does not exist
	outputs            strings.Builder // everything the system commands printed
}

func newSysMachine(t *testing.T, srv *pgtest.Server) *sysMachine {
	t.Helper()
	env, state := StateEnv(t)
	root := filepath.Dir(state)
	m := &sysMachine{t: t, root: root, state: state, store: filepath.Join(root, "nix", "store"), srv: srv,
		noCurrent: filepath.Join(root, "run", "current-system", "etc", "dysnomia", "system.json")}
	m.env = append(env, "NIX_STORE_DIR="+m.store)
	return m
}

// storePath makes <store>/<hash>-<name> with files, the hash derived from
// name and version so that versions get distinct paths.
func (m *sysMachine) storePath(name, version string, files map[string]string) string {
	m.t.Helper()
	sum := sha256.Sum256([]byte(name + "\x00" + version))
	const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
	hash := make([]byte, 32)
	for i := range hash {
		hash[i] = alphabet[sum[i]%32]
	}
	p := filepath.Join(m.store, string(hash)+"-"+name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for rel, content := range files {
		sysWrite(m.t, filepath.Join(p, rel), content, 0o644)
	}
	return p
}

func sysWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// pgContainer is the container of the test server, with a server package
// and a short timeout (a halted server fails fast).
func (m *sysMachine) pgContainer(serverPackage string) map[string]any {
	props := map[string]any{"timeout": 1}
	for _, p := range m.srv.Properties() {
		props[p.Key] = p.Value()
	}
	return map[string]any{"type": "postgresql-database", "properties": props, "serverPackage": serverPackage}
}

// toplevel writes cfg as a new system's config and returns the toplevel.
func (m *sysMachine) toplevel(cfg map[string]any) string {
	m.t.Helper()
	m.tops++
	top := filepath.Join(m.root, "systems", strconv.Itoa(m.tops)+"-nixos-system")
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		m.t.Fatal(err)
	}
	sysWrite(m.t, filepath.Join(top, "etc", "dysnomia", "system.json"), string(data), 0o444)
	return top
}

func configOf(top string) string { return filepath.Join(top, "etc", "dysnomia", "system.json") }

func (m *sysMachine) preSwitch(top, action string) Result {
	m.t.Helper()
	r := Run(m.t, m.env, "dysnomia", "system", "pre-switch", top, action, "--current", m.noCurrent)
	m.outputs.WriteString(r.Stdout + r.Stderr)
	return r
}

func (m *sysMachine) mustPreSwitch(top, action string) Result {
	m.t.Helper()
	r := m.preSwitch(top, action)
	if r.Code != 0 {
		m.t.Fatalf("pre-switch %s: exit %d\nstdout:\n%s\nstderr:\n%s", action, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func (m *sysMachine) mustSwitch(top string) Result {
	m.t.Helper()
	r := MustRun(m.t, m.env, "dysnomia", "system", "switch", "--config", configOf(top))
	m.outputs.WriteString(r.Stdout + r.Stderr)
	return r
}

// steps keeps the lines of a system command's stdout that report steps
// ("<activity> <container>/<component> …") as "<activity> <key>", sorted
// as printed; module output is dropped.
func steps(stdout string) []string {
	out := []string{}
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.Contains(f[1], "/") {
			switch f[0] {
			case "activate", "deactivate", "snapshot", "restore", "collect-garbage":
				out = append(out, f[0]+" "+f[1])
			}
		}
	}
	return out
}

func (m *sysMachine) generations(container, component string) int {
	m.t.Helper()
	entries, err := os.ReadDir(filepath.Join(m.state, "generations", container, component))
	if err != nil && !os.IsNotExist(err) {
		m.t.Fatal(err)
	}
	return len(entries)
}

func sysDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// TestSystemPostgresql is the NixOS life of a machine with PostgreSQL
// databases, through the binary: check, first switch, no-op switch and
// pre-switch (with the server down, to show that nothing connects), a new
// server package (pre-switch snapshots, switch keeps the data), removal
// (snapshot, then garbage), deletion under garbage.removed = "delete", the
// upstream views, and a password file whose content goes nowhere.
func TestSystemPostgresql(t *testing.T) {
	srv := pgtest.StartNew(t, pgtest.Options{HBA: []string{"local all app_pw scram-sha-256"}})
	m := newSysMachine(t, srv)
	password := "pw-" + strconv.Itoa(os.Getpid()) + "-Zq8xv"
	srv.Psql(t, "postgres", "create role app_pw login createdb password "+pgtest.Literal(password))
	pwFile := filepath.Join(m.root, "keys", "app_pw")
	sysWrite(t, pwFile, password+"\n", 0o600)

	app := m.storePath("app", "1", map[string]string{
		"postgresql-databases/1-schema.sql": "create table items (name text);\n",
		"postgresql-databases/2-data.sql":   "insert into items values ('initial');\n",
	})
	shop := m.storePath("shop", "1", map[string]string{"postgresql-databases/shop.sql": "create table orders (id int);\ninsert into orders values (1);\n"})
	pwdb := m.storePath("pwdb", "1", map[string]string{"postgresql-databases/pw.sql": "create table t (x int);\n"})
	hello := m.storePath("hello", "1", nil)
	pg15, pg16 := m.storePath("postgresql-15.8", "", nil), m.storePath("postgresql-16.4", "", nil)

	pwContainer := m.pgContainer(pg15)
	pwContainer["properties"].(map[string]any)["postgresqlUsername"] = "app_pw"
	pwContainer["secretFiles"] = map[string]any{"postgresqlPasswordFile": pwFile}
	config := func(pkg string, pgComps map[string]any, garbage string) map[string]any {
		return map[string]any{
			"version":    1,
			"stateDir":   m.state,
			"properties": map[string]any{"hostname": "db1", "supportedTypes": []string{"echo", "postgresql-database"}},
			"containers": map[string]any{
				"postgresql-database": m.pgContainer(pkg),
				"pg-pw":               pwContainer,
				"echo":                map[string]any{"type": "echo"},
			},
			"components": map[string]any{
				"postgresql-database": pgComps,
				"pg-pw":               map[string]any{"pwdb": map[string]any{"path": pwdb}},
				"echo":                map[string]any{"hello": map[string]any{"path": hello}},
			},
			"garbage": map[string]any{"removed": garbage},
		}
	}
	both := map[string]any{"app": map[string]any{"path": app}, "shop": map[string]any{"path": shop}}
	top1 := m.toplevel(config(pg15, both, "keep"))

	// The build-time check.
	r := MustRun(t, m.env, "dysnomia", "system", "check", configOf(top1))
	if r.Stdout != "" || r.Stderr != "" {
		t.Errorf("check of a valid config printed:\n%s%s", r.Stdout, r.Stderr)
	}

	// Before the first switch nothing is active: nothing to snapshot.
	r = m.mustPreSwitch(top1, "switch")
	sysDiff(t, "pre-switch before the first switch", []string{}, steps(r.Stdout))

	// First switch: databases created with their init scripts.
	r = m.mustSwitch(top1)
	sysDiff(t, "first switch", []string{
		"activate echo/hello", "activate pg-pw/pwdb", "activate postgresql-database/app", "activate postgresql-database/shop",
	}, steps(r.Stdout))
	if got := srv.Psql(t, "app", "select string_agg(name, ',') from items"); got != "initial" {
		t.Fatalf("app after the first switch: %q", got)
	}
	if got := srv.Psql(t, "shop", "select count(*) from orders"); got != "1" {
		t.Fatalf("shop after the first switch: %q", got)
	}
	if got := srv.Psql(t, "pwdb", "select tableowner from pg_tables where tablename = 't'"); got != "app_pw" {
		t.Fatalf("pwdb (created with the password from the file) owner: %q", got)
	}

	// Second switch and a pre-switch to the same system: no module call.
	// The server is down, so a connection attempt would fail; echo would
	// print to stdout.
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	r = m.mustSwitch(top1)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "nothing to do: 4 components up to date") {
		t.Errorf("no-op switch:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	r = m.mustPreSwitch(top1, "switch")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "nothing to snapshot") {
		t.Errorf("no-op pre-switch:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}

	// A new server package: pre-switch snapshots that container's
	// databases (with the data of now), and only those.
	srv.Psql(t, "app", "insert into items values ('added')")
	top2 := m.toplevel(config(pg16, both, "keep"))
	r = m.mustPreSwitch(top2, "switch")
	sysDiff(t, "pre-switch to a new server package", []string{"snapshot postgresql-database/app", "snapshot postgresql-database/shop"}, steps(r.Stdout))
	if a, s := m.generations("postgresql-database", "app"), m.generations("postgresql-database", "shop"); a != 1 || s != 1 {
		t.Errorf("generations after pre-switch: app %d, shop %d; want 1 and 1", a, s)
	}
	MustRun(t, m.env, "dysnomia", "snapshots", "check")
	r = m.mustSwitch(top2)
	sysDiff(t, "switch to a new server package", []string{"activate postgresql-database/app", "activate postgresql-database/shop"}, steps(r.Stdout))
	if got := srv.Psql(t, "app", "select string_agg(name, ',' order by name) from items"); got != "added,initial" {
		t.Errorf("app after re-activation: %q (state lost?)", got)
	}

	// The snapshot pre-switch took holds the data of that moment: restore
	// it after a change, through the upstream views as Disnix would.
	views := []string{
		"DYSNOMIA_CONTAINERS_PATH=" + filepath.Join(m.state, "system", "etc", "containers"),
		"DYSNOMIA_COMPONENTS_PATH=" + filepath.Join(m.state, "system", "etc", "components"),
		"DYSNOMIA_PROPERTIES=" + filepath.Join(m.state, "system", "etc", "properties"),
	}
	venv := append(append([]string{}, m.env...), views...)
	srv.Psql(t, "app", "delete from items")
	MustRun(t, venv, "dysnomia", "restore", "--container", "postgresql-database", "--component", "app")
	if got := srv.Psql(t, "app", "select string_agg(name, ',' order by name) from items"); got != "added,initial" {
		t.Errorf("app after restoring the pre-switch snapshot: %q", got)
	}
	r = MustRun(t, venv, "dysnomia-containers", "--query-containers")
	sysDiff(t, "containers in the views", []string{"echo", "pg-pw", "postgresql-database"}, strings.Fields(r.Stdout))
	r = MustRun(t, venv, "dysnomia-containers", "--query-available-components")
	sysDiff(t, "components in the views", []string{"echo/hello", "pg-pw/pwdb", "postgresql-database/app", "postgresql-database/shop"}, strings.Fields(r.Stdout))
	r = MustRun(t, venv, "dysnomia-containers", "--deploy")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "nothing to deploy") {
		t.Errorf("dysnomia-containers --deploy over the views found work to do:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}

	// Removing shop: pre-switch snapshots it; switch snapshots it again
	// (no new generation: same data), then deactivates it. The database
	// stays, marked garbage.
	top3 := m.toplevel(config(pg16, map[string]any{"app": map[string]any{"path": app}}, "keep"))
	r = m.mustPreSwitch(top3, "switch")
	sysDiff(t, "pre-switch before a removal", []string{"snapshot postgresql-database/shop"}, steps(r.Stdout))
	r = m.mustSwitch(top3)
	sysDiff(t, "switch with a removal", []string{"snapshot postgresql-database/shop", "deactivate postgresql-database/shop"}, steps(r.Stdout))
	if _, err := os.Stat(filepath.Join(m.state, "garbage", "postgresql-database", "shop")); err != nil {
		t.Errorf("shop is not marked garbage: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.state, "activated", "postgresql-database", "shop")); !os.IsNotExist(err) {
		t.Errorf("shop is still marked active (%v)", err)
	}
	if !srv.HasDatabase(t, "shop") {
		t.Error("shop was dropped under garbage.removed = keep")
	}
	if n := m.generations("postgresql-database", "shop"); n != 1 {
		t.Errorf("shop generations = %d, want 1", n)
	}

	// Under garbage.removed = "delete", removing app drops its database
	// after the snapshot.
	top4 := m.toplevel(config(pg16, map[string]any{}, "delete"))
	r = m.mustSwitch(top4)
	sysDiff(t, "switch with a deletion", []string{"snapshot postgresql-database/app", "deactivate postgresql-database/app", "collect-garbage postgresql-database/app"}, steps(r.Stdout))
	if srv.HasDatabase(t, "app") {
		t.Error("app still exists under garbage.removed = delete")
	}
	if n := m.generations("postgresql-database", "app"); n < 1 {
		t.Errorf("app has no snapshot left after its deletion")
	}

	// The password went nowhere but the server: not into the state
	// directory, not into any output.
	if strings.Contains(m.outputs.String(), password) {
		t.Error("the password appears in the output of a system command")
	}
	if !strings.Contains(m.outputs.String(), "activate  pg-pw/pwdb") {
		t.Error("the collected output misses the activation of pg-pw/pwdb: the check above looked at nothing")
	}
	sysNoSecret(t, m.state, password)
	for _, top := range []string{top1, top2, top3, top4} {
		sysNoSecret(t, top, password)
	}
}

// sysNoSecret fails when a file below dir contains secret.
func sysNoSecret(t *testing.T, dir, secret string) {
	t.Helper()
	files := 0
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("%s contains the password", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("no files below %s: nothing was checked", dir)
	}
}

// TestSystemPreSwitchActions: every ACTION value, a missing candidate
// config, and a failing snapshot (the server is down) that aborts, or warns
// under snapshots.onFailure = "continue".
func TestSystemPreSwitchActions(t *testing.T) {
	srv := pgtest.Start(t)
	m := newSysMachine(t, srv)
	db := m.storePath("actiondb", "1", map[string]string{"postgresql-databases/a.sql": "create table t (x int);\n"})
	pg15, pg16 := m.storePath("postgresql-15.8", "", nil), m.storePath("postgresql-16.4", "", nil)
	config := func(pkg string, snapshots map[string]any) map[string]any {
		return map[string]any{
			"version":    1,
			"stateDir":   m.state,
			"containers": map[string]any{"postgresql-database": m.pgContainer(pkg)},
			"components": map[string]any{"postgresql-database": map[string]any{"actiondb": map[string]any{"path": db}}},
			"snapshots":  snapshots,
		}
	}
	m.mustSwitch(m.toplevel(config(pg15, map[string]any{})))
	upgrade := m.toplevel(config(pg16, map[string]any{}))
	skipBoot := m.toplevel(config(pg16, map[string]any{"onBoot": "skip"}))
	never := m.toplevel(config(pg16, map[string]any{"beforeUpgrade": "never"}))
	cont := m.toplevel(config(pg16, map[string]any{"onFailure": "continue"}))
	snap := []string{"snapshot postgresql-database/actiondb"}
	for _, tc := range []struct {
		top, action string
		want        []string
	}{
		{upgrade, "switch", snap},
		{upgrade, "test", snap},
		{upgrade, "boot", snap},
		{skipBoot, "boot", []string{}},
		{skipBoot, "switch", snap},
		{upgrade, "dry-activate", []string{}},
		{upgrade, "check", []string{}},
		{never, "switch", []string{}},
	} {
		r := m.mustPreSwitch(tc.top, tc.action)
		sysDiff(t, "pre-switch "+filepath.Base(tc.top)+" "+tc.action, tc.want, steps(r.Stdout))
	}

	r := m.preSwitch(upgrade, "reboot")
	if r.Code != 1 || !strings.Contains(r.Stderr, `unknown action "reboot"`) {
		t.Errorf("unknown action: exit %d\n%s", r.Code, r.Stderr)
	}
	bare := filepath.Join(m.root, "systems", "no-dysnomia")
	if err := os.MkdirAll(bare, 0o755); err != nil {
		t.Fatal(err)
	}
	r = m.mustPreSwitch(bare, "switch")
	if !strings.Contains(r.Stderr, "nothing to do") {
		t.Errorf("candidate without a config: %s", r.Stderr)
	}

	// The server is down: the snapshot fails and aborts the switch ...
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	r = m.preSwitch(upgrade, "switch")
	if r.Code == 0 || !strings.Contains(r.Stderr, "pre-switch snapshot failed for postgresql-database/actiondb") || !strings.Contains(r.Stderr, "aborted") {
		t.Errorf("failing snapshot: exit %d\nstderr:\n%s", r.Code, r.Stderr)
	}
	// ... unless onFailure = continue: a warning, exit 0.
	r = m.preSwitch(cont, "switch")
	if r.Code != 0 || !strings.Contains(r.Stderr, "warning: pre-switch:") || !strings.Contains(r.Stderr, "postgresql-database/actiondb") {
		t.Errorf("failing snapshot with onFailure continue: exit %d\nstderr:\n%s", r.Code, r.Stderr)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
}

// TestSystemCheckProblems: the build-time check lists every problem with
// its path, and needs no state directory.
func TestSystemCheckProblems(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "system.json")
	sysWrite(t, file, `{"version": 1, "stateDir": "relative", "containers": {"pg": {"type": "postgresql-database", "secretFiles": {"postgresqlPasswordFile": "/nix/store/x-pw"}}},
		"components": {"mysql": {"db": {"path": "/srv/db"}}}, "snapshots": {"beforeUpgrade": "sometimes"}}`, 0o644)
	r := Run(t, []string{"HOME=" + dir, "DYSNOMIA_STATEDIR=/nonexistent/state"}, "dysnomia", "system", "check", "--config", file)
	want := []string{
		file + `: stateDir: "relative" is not an absolute path`,
		file + `: containers["pg"].secretFiles["postgresqlPasswordFile"]: "/nix/store/x-pw" is in the Nix store, which every user can read: keep secrets outside it (e.g. /run/keys)`,
		file + `: components["mysql"]: container "mysql" is not declared in containers`,
		file + `: snapshots.beforeUpgrade: "sometimes" is not one of "changed", "always", "never"`,
	}
	got := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	sort.Strings(want)
	sort.Strings(got)
	sysDiff(t, "check output", want, got)
	if r.Code != 1 || !strings.Contains(r.Stderr, "4 problem(s)") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if _, err := os.Stat("/nonexistent/state"); !os.IsNotExist(err) {
		t.Errorf("check touched the state directory")
	}
}
