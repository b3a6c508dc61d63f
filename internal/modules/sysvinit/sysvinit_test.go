package sysvinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

func TestMain(m *testing.M) {
	proctest.DaemonMain()
	os.Exit(m.Run())
}

type fixture struct {
	comp, log string
	d         *proctest.Daemon
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// newComponent lays out a component with an init script for a real daemon
// (S50webapp), a logging script before it (S10first), a K entry that must
// never run, and an init script that logs each call.
func newComponent(t *testing.T, runlevel string) *fixture {
	t.Helper()
	root := t.TempDir()
	comp := filepath.Join(root, "webapp")
	fx := &fixture{comp: comp, log: filepath.Join(root, "calls.log")}
	fx.d = proctest.NewDaemon(t, filepath.Join(comp, "libexec", "webappd"), filepath.Join(root, "webapp.pid"), filepath.Join(root, "webapp.sock"), false, false)
	t.Cleanup(func() { proctest.KillFromPidFile(fx.d.PidFile) })
	q := proctest.ShellQuote
	write(t, filepath.Join(comp, "etc", "rc.d", "init.d", "webapp"), `#!/bin/sh
pidfile=`+q(fx.d.PidFile)+`
echo "webapp $1" >> `+q(fx.log)+`
case "$1" in
  start) exec `+q(fx.d.Script)+` ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    kill "$(cat "$pidfile")"
    while [ -f "$pidfile" ]; do sleep 0.05; done ;;
  status) [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
`, 0o755)
	logger := "#!/bin/sh\necho \"$(basename \"$0\") $1\" >> " + q(fx.log) + "\n"
	write(t, filepath.Join(comp, "etc", "rc.d", "init.d", "first"), logger, 0o755)
	rc := filepath.Join(comp, "etc", "rc.d", "rc"+runlevel+".d")
	if err := os.MkdirAll(rc, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, dest := range map[string]string{"S50webapp": "webapp", "S10first": "first", "K90first": "first"} {
		if err := os.Symlink("../init.d/"+dest, filepath.Join(rc, link)); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func (fx *fixture) calls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(fx.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(fx.log)
	return strings.Fields(strings.ReplaceAll(string(data), " ", "_"))
}

func TestActivateDeactivate(t *testing.T) {
	fx := newComponent(t, "4")
	f := proctest.NewFixture(t, "sysvinit-script", "runlevel=4")
	f.MustRun(t, Module{}, module.Activate, fx.comp)
	if diff := cmp.Diff([]string{"S10first_start", "webapp_start"}, fx.calls(t)); diff != "" {
		t.Errorf("activate ran (-want +got):\n%s", diff)
	}
	pid, err := fx.d.Pid()
	if err != nil || !proctest.Alive(pid) {
		t.Fatalf("daemon not running after activate: %d, %v", pid, err)
	}
	if _, err := fx.d.Ask(); err != nil {
		t.Fatalf("daemon does not answer: %v", err)
	}
	if !f.Active(t, fx.comp) {
		t.Fatal("not marked active")
	}
	f.MustRun(t, Module{}, module.Deactivate, fx.comp)
	if diff := cmp.Diff([]string{"webapp_stop", "S10first_stop"}, fx.calls(t)); diff != "" {
		t.Errorf("deactivate ran (-want +got):\n%s", diff)
	}
	if proctest.Alive(pid) {
		t.Fatal("daemon still running after deactivate")
	}
	if f.Active(t, fx.comp) {
		t.Fatal("still marked active")
	}
}

// TestDefaultRunlevelAndRollback: with the default runlevel 3, a failing
// start script stops what was started before it.
func TestDefaultRunlevelAndRollback(t *testing.T) {
	fx := newComponent(t, "3")
	write(t, filepath.Join(fx.comp, "etc", "rc.d", "rc3.d", "S90broken"), "#!/bin/sh\n[ \"$1\" = stop ] && exit 0\necho broken >&2\nexit 4\n", 0o755)
	f := proctest.NewFixture(t, "sysvinit-script")
	err := f.Run(Module{}, module.Activate, fx.comp)
	if err == nil || !strings.Contains(err.Error(), "S90broken start: exit status 4") {
		t.Fatalf("error %v; want the failing script and its status", err)
	}
	if diff := cmp.Diff([]string{"S10first_start", "webapp_start", "webapp_stop", "S10first_stop"}, fx.calls(t)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if pid, err := fx.d.Pid(); err == nil && proctest.Alive(pid) {
		t.Fatal("daemon left running by a failed activate")
	}
	if f.Active(t, fx.comp) {
		t.Fatal("marked active")
	}
	if err := f.Run(Module{}, module.Activate, fx.comp); err == nil {
		t.Fatal("second failing activate succeeded")
	}

	bad := proctest.NewFixture(t, "sysvinit-script", "runlevel=../x")
	if err := bad.Run(Module{}, module.Activate, fx.comp); err == nil || !strings.Contains(err.Error(), "runlevel") {
		t.Errorf("bad runlevel: %v", err)
	}
}
