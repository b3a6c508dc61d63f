package systemd

// There is no systemd as PID 1 here: these tests check the links the module
// makes and the systemctl calls, against a recording systemctl. The NixOS
// VM test tests/nixos/systemd-unit.nix runs the module against real systemd.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

func component(t *testing.T, units ...string) string {
	t.Helper()
	comp := filepath.Join(t.TempDir(), "web")
	dir := filepath.Join(comp, "etc", "systemd", "system")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if err := os.WriteFile(filepath.Join(dir, u), []byte("[Unit]\nDescription="+u+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return comp
}

func fixture(t *testing.T, failOn string, props ...string) (*proctest.Fixture, string) {
	t.Helper()
	bin, log := proctest.Recorder(t, "systemctl", failOn)
	f := proctest.NewFixture(t, "systemd-unit", props...)
	f.Env = append(f.Env, "PATH="+bin+":"+strings.TrimPrefix(f.Env[0], "PATH="))
	return f, log
}

func TestActivateDeactivate(t *testing.T) {
	comp := component(t, "web.service", "web.socket", "cron.service", "cron.timer", "plain.service", "helper.conf")
	target := filepath.Join(t.TempDir(), "not", "yet", "there")
	f, log := fixture(t, "", "systemdTargetDir="+target)
	f.MustRun(t, Module{}, module.Activate, comp)
	if diff := cmp.Diff([]string{
		"--system daemon-reload",
		"--system start cron.timer",
		"--system start plain.service",
		"--system start web.socket",
	}, proctest.Calls(t, log)); diff != "" {
		t.Errorf("activate calls (-want +got):\n%s", diff)
	}
	src := filepath.Join(comp, "etc", "systemd", "system")
	for _, u := range []string{"web.service", "web.socket", "cron.service", "cron.timer", "plain.service", "helper.conf"} {
		if !service.PointsInto(filepath.Join(target, u), src) {
			t.Errorf("%s not linked into the target dir", u)
		}
	}
	wants, _ := service.Entries(filepath.Join(target, "dysnomia.target.wants"))
	if diff := cmp.Diff([]string{"cron.timer", "plain.service", "web.socket"}, wants); diff != "" {
		t.Errorf("wants links (-want +got):\n%s", diff)
	}
	if !f.Active(t, comp) {
		t.Fatal("not marked active")
	}

	f.MustRun(t, Module{}, module.Deactivate, comp)
	if diff := cmp.Diff([]string{
		"--system stop web.socket",
		"--system stop cron.timer",
		"--system stop cron.service",
		"--system stop plain.service",
		"--system stop web.service",
		"--system daemon-reload",
	}, proctest.Calls(t, log)); diff != "" {
		t.Errorf("deactivate calls (-want +got):\n%s", diff)
	}
	if left, _ := service.Entries(target); len(left) != 1 || left[0] != "dysnomia.target.wants" {
		t.Errorf("target dir holds %v after deactivate", left)
	}
	if left, _ := service.Entries(filepath.Join(target, "dysnomia.target.wants")); len(left) != 0 {
		t.Errorf("wants dir holds %v", left)
	}
	if f.Active(t, comp) {
		t.Fatal("still marked active")
	}
}

// TestUserScope: user services use --user in every call, deactivation's
// reload too, and default to ~/.config/systemd/user.
func TestUserScope(t *testing.T) {
	home := t.TempDir()
	comp := component(t, "app.service")
	f, log := fixture(t, "", "systemdUserServices=1", "systemdRootTarget=default.target.wants")
	f.Env = append(f.Env, "HOME="+home)
	f.MustRun(t, Module{}, module.Activate, comp)
	f.MustRun(t, Module{}, module.Deactivate, comp)
	calls := proctest.Calls(t, log)
	for _, c := range calls {
		if !strings.HasPrefix(c, "--user ") {
			t.Errorf("call %q is not --user", c)
		}
	}
	if len(calls) != 4 {
		t.Errorf("calls = %q; want reload, start, stop, reload", calls)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "systemd", "user", "default.target.wants")); err != nil {
		t.Errorf("default user target dir: %v", err)
	}
}

// TestRollback: a unit that fails to start leaves no links and the manager
// reloaded.
func TestRollback(t *testing.T) {
	comp := component(t, "a.service", "b.service")
	target := t.TempDir()
	f, log := fixture(t, "start b.service", "systemdTargetDir="+target)
	err := f.Run(Module{}, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), "systemctl --system start b.service") {
		t.Fatalf("error %v; want the failed start", err)
	}
	calls := proctest.Calls(t, log)
	if len(calls) == 0 || calls[len(calls)-1] != "--system daemon-reload" {
		t.Errorf("calls %q; want a reload at the end", calls)
	}
	if left, _ := service.Entries(target); len(left) != 1 {
		t.Errorf("target dir holds %v after the rollback", left)
	}
	if f.Active(t, comp) {
		t.Fatal("marked active")
	}
}
