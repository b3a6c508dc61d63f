package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// vault is a module for the engine's tests whose "server" is the directory
// named by its dir property: a component's database is the file
// <dir>/<name>, created by activate with the component's init file. With
// dir missing the server is down: every activity but deactivate fails.
// It is a module.Prober: absent (no file), empty (an empty file), has data.
type vault struct{}

func (vault) server(req *module.Request) (string, error) {
	dir := req.Property("dir", "")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("vault server %q is down", dir)
	}
	return dir, nil
}

func (v vault) Run(ctx context.Context, req *module.Request) error {
	if req.Activity == module.Deactivate {
		return req.Store.MarkGarbage(req.Key())
	}
	dir, err := v.server(req)
	if err != nil {
		return err
	}
	db := filepath.Join(dir, req.Component.Name)
	switch req.Activity {
	case module.Activate:
		if _, err := os.Stat(db); err == nil {
			return nil
		}
		init, err := os.ReadFile(filepath.Join(req.Component.Path, "init"))
		if err != nil {
			return err
		}
		return os.WriteFile(db, init, 0o644)
	case module.Snapshot:
		data, err := os.ReadFile(db)
		if err != nil {
			return err
		}
		_, err = req.Store.Commit(ctx, req.Key(), store.Meta{Module: "vault"}, func(d *store.Dump) error {
			w, err := d.Create("data")
			if err != nil {
				return err
			}
			if _, err := w.Write(data); err != nil {
				return err
			}
			return w.Close()
		})
		return err
	case module.Restore:
		sn, ok, err := req.RestoreTarget()
		if err != nil || !ok {
			return err
		}
		p, err := req.Store.Read(ctx, sn)
		if err != nil {
			return err
		}
		r, err := p.Open("data")
		if err != nil {
			return err
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return os.WriteFile(db, data, 0o644)
	}
	return nil
}

func (v vault) Probe(_ context.Context, req *module.Request) (module.State, error) {
	dir, err := v.server(req)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(filepath.Join(dir, req.Component.Name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return module.StateAbsent, nil
	case err != nil:
		return 0, err
	case fi.Size() == 0:
		return module.StateEmpty, nil
	}
	return module.StateHasData, nil
}

// vaultMachine is a fixture with two vault servers (data directories) and
// system configs that put the container "db" on one of them with a server
// package of its own.
type vaultMachine struct {
	*fixture
	srv1, srv2, srv3 string
}

func newVaultMachine(t *testing.T) *vaultMachine {
	f := newFixture(t)
	m := &vaultMachine{fixture: f, srv1: filepath.Join(f.root, "srv1"), srv2: filepath.Join(f.root, "srv2"), srv3: filepath.Join(f.root, "srv3")}
	for _, d := range []string{m.srv1, m.srv2, m.srv3} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"app", "other", "old"} {
		if err := os.WriteFile(filepath.Join(f.component("v1", c), "init"), []byte("init "+c+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *vaultMachine) engine() *Engine {
	e := m.fixture.engine()
	e.Invoker.Registry.Add("vault", vault{})
	return e
}

// cfg declares app on srv (server package pkg), other on srv1 (server
// package 1, never changing) and, with old, the container "legacy" on srv3
// holding old. snapshots is the snapshots object's members.
func (m *vaultMachine) cfg(srv, pkg string, old bool, snapshots string) string {
	legacy, legacyComp := "", ""
	if old {
		legacy = `, "legacy": {"type": "vault", "properties": {"dir": "` + m.srv3 + `"}, "serverPackage": "/nix/store/legacy-1"}`
		legacyComp = `, "legacy": {"old": {"path": "{{comps}}/v1/old"}}`
	}
	return `{"version": 1, "stateDir": "{{state}}",
		"containers": {"db": {"type": "vault", "properties": {"dir": "` + srv + `"}, "serverPackage": "/nix/store/` + pkg + `"},
			"keep": {"type": "vault", "properties": {"dir": "` + m.srv1 + `"}, "serverPackage": "/nix/store/keep-1"}` + legacy + `},
		"components": {"db": {"app": {"path": "{{comps}}/v1/app"}}, "keep": {"other": {"path": "{{comps}}/v1/other"}}` + legacyComp + `},
		"snapshots": {` + snapshots + `}}`
}

func (m *vaultMachine) preSwitch(cfg, action string) (*PreSwitchResult, error) {
	m.t.Helper()
	c := m.config(cfg)
	running, err := LoadRunning(m.state, "")
	if err != nil {
		m.t.Fatal(err)
	}
	return m.engine().PreSwitch(context.Background(), running, c, action)
}

func (m *vaultMachine) switchTo(cfg string) (*SwitchResult, error) {
	m.t.Helper()
	return m.engine().Switch(context.Background(), m.config(cfg), false)
}

func (m *vaultMachine) read(srv, name string) string {
	m.t.Helper()
	data, err := os.ReadFile(filepath.Join(srv, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "(absent)"
	}
	if err != nil {
		m.t.Fatal(err)
	}
	return string(data)
}

func (m *vaultMachine) write(srv, name, content string) {
	m.t.Helper()
	if err := os.WriteFile(filepath.Join(srv, name), []byte(content), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

func (m *vaultMachine) taken() []string {
	m.t.Helper()
	rec, err := LoadTaken(m.state)
	if err != nil {
		m.t.Fatal(err)
	}
	out := []string{}
	for _, t := range rec.Taken {
		out = append(out, t.Key.String()+" "+t.Change+" "+t.Servers())
	}
	return out
}

func (m *vaultMachine) latest(k string) string {
	m.t.Helper()
	c, comp, _ := strings.Cut(k, "/")
	sn, ok, err := store.Open(m.state).Latest(store.Key{Container: c, Component: comp})
	if err != nil || !ok {
		m.t.Fatalf("latest snapshot of %s: %v, %v", k, ok, err)
	}
	return sn.ID
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// TestSwitchRestoresAfterUpgrade: app moves to a new server (srv2) with a
// new server package. The data written on srv1 after the first switch is
// on srv2 after pre-switch and switch, for each action that snapshots.
func TestSwitchRestoresAfterUpgrade(t *testing.T) {
	for _, action := range []string{"switch", "boot"} {
		t.Run(action, func(t *testing.T) {
			m := newVaultMachine(t)
			v1, v2 := m.cfg(m.srv1, "srv-15.8", false, ""), m.cfg(m.srv2, "srv-16.4", false, "")
			if _, err := m.switchTo(v1); err != nil {
				t.Fatal(err)
			}
			m.write(m.srv1, "app", "rows written on 15\n")
			pre, err := m.preSwitch(v2, action)
			if err != nil {
				t.Fatalf("pre-switch: %v\n%s", err, m.report)
			}
			diff(t, "pre-switch snapshots", []string{"snapshot db/app changed (properties, serverPackage)"}, stepLines(pre.Done))
			diff(t, "pre-switch record", []string{"db/app serverPackage srv-15.8 -> srv-16.4"}, m.taken())
			id := m.latest("db/app")

			res, err := m.switchTo(v2)
			if err != nil {
				t.Fatalf("switch: %v\n%s", err, m.report)
			}
			diff(t, "switch steps", []string{
				"restore db/app changed (pre-upgrade snapshot " + id + ", srv-15.8 -> srv-16.4)",
				"activate db/app changed (properties, serverPackage)",
			}, stepLines(res.Done))
			diff(t, "app on the new server", "rows written on 15\n", m.read(m.srv2, "app"))
			if want := "restored db/app from pre-upgrade snapshot " + id + " (srv-15.8 -> srv-16.4)"; !strings.Contains(m.report.String(), want) {
				t.Errorf("the switch did not say %q:\n%s", want, m.report)
			}
			diff(t, "pre-switch record after the switch", []string{}, m.taken())
			if _, err := os.Stat(TakenFile(m.state)); !os.IsNotExist(err) {
				t.Errorf("the pre-switch record is still there (%v)", err)
			}
			// A later switch of the same config changes nothing.
			if res, err := m.switchTo(v2); err != nil || len(res.Plan.Steps) != 0 {
				t.Errorf("second switch: %v, steps %v", err, stepLines(res.Plan.Steps))
			}
		})
	}
}

// TestSwitchUpgradeDecisions: what the switch does with a component whose
// server changed, by what the new server holds and what pre-switch took.
func TestSwitchUpgradeDecisions(t *testing.T) {
	tests := []struct {
		name      string
		snapshots string
		prepare   func(m *vaultMachine) // after pre-switch, before the switch
		noPre     bool                  // no pre-switch at all
		wantErr   string                // "" for success
		wantApp   string                // app on srv2 after the switch
		wantSay   string                // in the report
	}{
		{name: "exists with data", prepare: func(m *vaultMachine) { m.write(m.srv2, "app", "upgraded in place\n") },
			wantApp: "upgraded in place\n", wantSay: "db/app exists with data on the new server (srv-15.8 -> srv-16.4): left as it is; pre-upgrade snapshot"},
		{name: "exists empty", prepare: func(m *vaultMachine) { m.write(m.srv2, "app", "") },
			wantApp: "rows\n", wantSay: "the new server has an empty database of it"},
		{name: "damaged snapshot", prepare: func(m *vaultMachine) { corrupt(m.t, m.state, "db", "app") },
			wantErr: "restore pre-upgrade snapshot db/app/", wantApp: "(absent)", wantSay: "checksum"},
		{name: "missing snapshot", prepare: func(m *vaultMachine) {
			if err := os.RemoveAll(filepath.Join(m.state, "snapshots", "db", "app")); err != nil {
				m.t.Fatal(err)
			}
		}, wantErr: "is missing from", wantApp: "(absent)"},
		{name: "no pre-switch", noPre: true, wantErr: "pre-switch recorded no snapshot of it for this change", wantApp: "(absent)"},
		{name: "beforeUpgrade never", snapshots: `"beforeUpgrade": "never"`, wantErr: "pre-switch recorded no snapshot", wantApp: "(absent)"},
		{name: "restoreAfterUpgrade off", snapshots: `"restoreAfterUpgrade": false`, wantApp: "init app\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newVaultMachine(t)
			v1, v2 := m.cfg(m.srv1, "srv-15.8", false, ""), m.cfg(m.srv2, "srv-16.4", false, tc.snapshots)
			if _, err := m.switchTo(v1); err != nil {
				t.Fatal(err)
			}
			m.write(m.srv1, "app", "rows\n")
			if !tc.noPre {
				if _, err := m.preSwitch(v2, "switch"); err != nil {
					t.Fatalf("pre-switch: %v", err)
				}
			}
			if tc.prepare != nil {
				tc.prepare(m)
			}
			_, err := m.switchTo(v2)
			t.Logf("switch reported:\n%s\nerror: %s", m.report, stepErrors(err))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("switch: %v\n%s", err, m.report)
			case tc.wantErr != "" && (err == nil || !strings.Contains(stepErrors(err)+m.report.String(), tc.wantErr)):
				t.Fatalf("switch: error %v, want one with %q\n%s", err, tc.wantErr, m.report)
			}
			diff(t, "app on the new server", tc.wantApp, m.read(m.srv2, "app"))
			if tc.wantSay != "" && !strings.Contains(m.report.String()+stepErrors(err), tc.wantSay) {
				t.Errorf("the switch did not say %q:\n%s\nerror: %v", tc.wantSay, m.report, err)
			}
			// The other component is never affected; the failed one keeps
			// what was applied, so the next switch tries again.
			diff(t, "the other component", "init other\n", m.read(m.srv1, "other"))
			rec := m.record()
			if tc.wantErr != "" {
				var fe interface{ Unwrap() []error }
				if !errors.As(err, &fe) {
					t.Errorf("error %T is not a list of failed steps", err)
				}
				diff(t, "record after a failed restore", []string{"db/app v1/app", "keep/other v1/other"}, rec)
				if r, _, _ := LoadRecord(m.state); r.Entries[0].Container.ServerPackage != "/nix/store/srv-15.8" {
					t.Errorf("the record moved app to the new server package: %s", r.Entries[0].Container.ServerPackage)
				}
			}
		})
	}
}

// corrupt changes a byte of every file of the snapshots of a component.
func corrupt(t *testing.T, state, container, component string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(state, "snapshots", container, component), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			return err
		}
		data[len(data)/2] ^= 0xff
		n++
		return os.WriteFile(p, data, 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("corrupt %s/%s: %v (%d files)", container, component, err, n)
	}
}

// TestPreSwitchKeepsPendingUpgrade: a switch that did not complete left
// the new server running without the data; a second pre-switch does not
// snapshot the empty server over the pre-upgrade snapshot.
func TestPreSwitchKeepsPendingUpgrade(t *testing.T) {
	m := newVaultMachine(t)
	v1, v2 := m.cfg(m.srv1, "srv-15.8", false, ""), m.cfg(m.srv2, "srv-16.4", false, "")
	if _, err := m.switchTo(v1); err != nil {
		t.Fatal(err)
	}
	m.write(m.srv1, "app", "rows\n")
	if _, err := m.preSwitch(v2, "switch"); err != nil {
		t.Fatal(err)
	}
	id := m.latest("db/app")
	// The new server took the old one's place (same address) empty.
	m.write(m.srv1, "app", "")
	pre, err := m.preSwitch(v2, "switch")
	if err != nil {
		t.Fatalf("second pre-switch: %v\n%s", err, m.report)
	}
	diff(t, "second pre-switch snapshots", []string{}, stepLines(pre.Done))
	if len(pre.Kept) != 1 || pre.Kept[0].Snapshot != id {
		t.Errorf("kept %v, want snapshot %s", pre.Kept, id)
	}
	diff(t, "latest snapshot", id, m.latest("db/app"))
	if _, err := m.switchTo(v2); err != nil {
		t.Fatalf("switch: %v\n%s", err, m.report)
	}
	diff(t, "app on the new server", "rows\n", m.read(m.srv2, "app"))
}

// TestSwitchRemovedServer: the container legacy and its component are
// removed, and its server is stopped before the switch runs (as
// switch-to-configuration does). Protected by a pre-switch snapshot, the
// component is retired; without one the switch fails once and forgets it;
// with its container still declared it fails until it can be snapshotted.
func TestSwitchRemovedServer(t *testing.T) {
	t.Run("protected", func(t *testing.T) {
		m := newVaultMachine(t)
		v1, v2 := m.cfg(m.srv1, "srv-15.8", true, ""), m.cfg(m.srv1, "srv-15.8", false, "")
		if _, err := m.switchTo(v1); err != nil {
			t.Fatal(err)
		}
		m.write(m.srv3, "old", "legacy rows\n")
		pre, err := m.preSwitch(v2, "switch")
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "pre-switch snapshots", []string{"snapshot legacy/old removed (no longer declared)"}, stepLines(pre.Done))
		diff(t, "pre-switch record", []string{"legacy/old removed legacy-1 -> (none)"}, m.taken())
		id := m.latest("legacy/old")
		// The legacy server is stopped before the switch runs.
		if err := os.Rename(m.srv3, m.srv3+".stopped"); err != nil {
			t.Fatal(err)
		}
		res, err := m.switchTo(v2)
		if err != nil {
			t.Fatalf("switch: %v\n%s", err, m.report)
		}
		if !strings.Contains(m.report.String(), "retired legacy/old") || !strings.Contains(m.report.String(), "pre-switch snapshot "+id) {
			t.Errorf("no retirement naming snapshot %s:\n%s", id, m.report)
		}
		diff(t, "switch steps", []string{"deactivate legacy/old removed (retired: server gone; pre-switch snapshot " + id + ")"}, stepLines(res.Done))
		diff(t, "garbage", []string{"legacy/old"}, m.markers("garbage"))
		diff(t, "record", []string{"db/app v1/app", "keep/other v1/other"}, m.record())
		diff(t, "pre-switch record after the switch", []string{}, m.taken())
		// Switching again (as at every boot) is quiet.
		for i := 0; i < 2; i++ {
			if res, err := m.switchTo(v2); err != nil || len(res.Plan.Steps) != 0 {
				t.Fatalf("switch %d after the retirement: %v, %v", i, err, stepLines(res.Plan.Steps))
			}
		}
	})
	t.Run("unprotected", func(t *testing.T) {
		m := newVaultMachine(t)
		v1, v2 := m.cfg(m.srv1, "srv-15.8", true, ""), m.cfg(m.srv1, "srv-15.8", false, "")
		if _, err := m.switchTo(v1); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(m.srv3, m.srv3+".stopped"); err != nil {
			t.Fatal(err)
		}
		_, err := m.switchTo(v2)
		if msg := stepErrors(err); !strings.Contains(msg, "no pre-switch snapshot protects this removal") || !strings.Contains(msg, "later switches do not try again") || !strings.Contains(m.report.String(), "later switches do not try again") {
			t.Fatalf("switch: %v", err)
		}
		diff(t, "record", []string{"db/app v1/app", "keep/other v1/other"}, m.record())
		diff(t, "active", []string{"db/app", "keep/other", "legacy/old"}, m.markers("activated"))
		if res, err := m.switchTo(v2); err != nil || len(res.Plan.Steps) != 0 {
			t.Fatalf("the next switch: %v, %v", err, stepLines(res.Plan.Steps))
		}
	})
	t.Run("container still declared", func(t *testing.T) {
		m := newVaultMachine(t)
		v1 := m.cfg(m.srv1, "srv-15.8", true, "")
		if _, err := m.switchTo(v1); err != nil {
			t.Fatal(err)
		}
		// old is removed, its container stays; its server is down.
		v2 := strings.Replace(v1, `, "legacy": {"old": {"path": "{{comps}}/v1/old"}}`, "", 1)
		if err := os.Rename(m.srv3, m.srv3+".stopped"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			_, err := m.switchTo(v2)
			if !strings.Contains(stepErrors(err), "the next switch tries again") {
				t.Fatalf("switch %d: %v", i, err)
			}
		}
		if err := os.Rename(m.srv3+".stopped", m.srv3); err != nil {
			t.Fatal(err)
		}
		if _, err := m.switchTo(v2); err != nil {
			t.Fatalf("switch with the server back: %v", err)
		}
		diff(t, "garbage", []string{"legacy/old"}, m.markers("garbage"))
	})
}

// stepErrors is the messages of the failed steps of a switch's error.
func stepErrors(err error) string {
	var fe *deploy.FailedError
	if !errors.As(err, &fe) {
		return fmt.Sprint(err)
	}
	var out []string
	for _, f := range fe.Failed {
		out = append(out, f.Error())
	}
	return strings.Join(out, "\n")
}
