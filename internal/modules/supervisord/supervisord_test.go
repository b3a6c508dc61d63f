package supervisord

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

func TestMain(m *testing.M) {
	proctest.DaemonMain()
	os.Exit(m.Run())
}

// component makes a component whose conf.d/hello.conf runs a test daemon
// in the foreground under supervisord.
func component(t *testing.T, program string) (comp string, d *proctest.Daemon) {
	t.Helper()
	root := t.TempDir()
	comp = filepath.Join(root, "hello")
	d = proctest.NewDaemon(t, filepath.Join(comp, "bin", "hello"), "", filepath.Join(root, "hello.sock"), false, true)
	conf := "[program:" + program + "]\ncommand=" + d.Script + "\nautostart=true\nstartsecs=0\nstopwaitsecs=5\n"
	if err := os.MkdirAll(filepath.Join(comp, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(comp, "conf.d", "hello.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return comp, d
}

func answers(d *proctest.Daemon) bool {
	ok, _ := service.WaitFor(t0(), 10*time.Second, func() (bool, error) {
		_, err := d.Ask()
		return err == nil, nil
	})
	return ok
}

func TestActivateDeactivate(t *testing.T) {
	sv := proctest.StartSupervisord(t)
	comp, d := component(t, "hello")
	target := filepath.Join(filepath.Dir(sv.ConfDir), "conf.d")
	f := proctest.NewFixture(t, "supervisord-program", "supervisordTargetDir="+target, "supervisordConfFile="+sv.ConfFile)
	f.MustRun(t, Module{}, module.Activate, comp)
	if !answers(d) {
		status, _ := sv.Ctl("status")
		t.Fatalf("the program does not answer after activate; status:\n%s\noutput:\n%s", status, f.Out.String())
	}
	if status, err := sv.Ctl("status", "hello"); err != nil || !strings.Contains(status, "RUNNING") {
		t.Fatalf("status hello = %q, %v; want RUNNING", status, err)
	}
	if !f.Active(t, comp) {
		t.Fatal("not marked active")
	}
	f.MustRun(t, Module{}, module.Activate, comp) // idempotent
	if _, err := d.Ask(); err != nil {
		t.Fatalf("second activate: %v", err)
	}

	f.MustRun(t, Module{}, module.Deactivate, comp)
	if _, err := d.Ask(); err == nil {
		t.Fatal("the program still answers after deactivate")
	}
	if status, _ := sv.Ctl("status"); strings.Contains(status, "hello") {
		t.Fatalf("supervisord still knows the program:\n%s", status)
	}
	if _, err := os.Lstat(filepath.Join(target, "hello.conf")); !os.IsNotExist(err) {
		t.Fatalf("link left in the target dir: %v", err)
	}
	if f.Active(t, comp) {
		t.Fatal("still marked active")
	}
	f.MustRun(t, Module{}, module.Deactivate, comp)
}

// TestRollback: a snippet supervisord rejects fails activation, and its link
// is gone afterwards; the target dir is created on the way.
func TestRollback(t *testing.T) {
	sv := proctest.StartSupervisord(t)
	comp, _ := component(t, "hello")
	if err := os.WriteFile(filepath.Join(comp, "conf.d", "hello.conf"), []byte("[program:hello]\nautostart=true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := proctest.NewFixture(t, "supervisord-program", "supervisordTargetDir="+sv.ConfDir, "supervisordConfFile="+sv.ConfFile)
	if err := f.Run(Module{}, module.Activate, comp); err == nil || !strings.Contains(err.Error(), "supervisorctl") {
		t.Fatalf("activate of a program without command: error %v; want supervisorctl's failure\n%s", err, f.Out.String())
	}
	if _, err := os.Lstat(filepath.Join(sv.ConfDir, "hello.conf")); !os.IsNotExist(err) {
		t.Fatalf("link left after a failed activate: %v", err)
	}
	if f.Active(t, comp) {
		t.Fatal("marked active")
	}
	// supervisord still works for others.
	good, d := component(t, "hello")
	f.MustRun(t, Module{}, module.Activate, good)
	if !answers(d) {
		t.Fatal("supervisord broken after the rollback")
	}
	f.MustRun(t, Module{}, module.Deactivate, good)
}

func t0() context.Context { return context.Background() }
