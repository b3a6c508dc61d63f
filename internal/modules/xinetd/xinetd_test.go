package xinetd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

func component(t *testing.T) (comp string, port int) {
	t.Helper()
	comp = filepath.Join(t.TempDir(), "hello")
	port = proctest.FreePort(t)
	if err := os.MkdirAll(filepath.Join(comp, "etc", "xinetd.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(comp, "etc", "xinetd.d", "hello"), []byte(proctest.EchoService("hello", port, "hello from xinetd")), 0o644); err != nil {
		t.Fatal(err)
	}
	return comp, port
}

// eventually waits (xinetd reloads asynchronously) until a connection to
// port answers want, or, with want "", is refused.
func eventually(t *testing.T, port int, want string) {
	t.Helper()
	var got string
	var err error
	ok, _ := service.WaitFor(context.Background(), 10*time.Second, func() (bool, error) {
		got, err = proctest.AskTCP(port)
		if want == "" {
			return err != nil, nil
		}
		return err == nil && got == want, nil
	})
	if !ok {
		t.Fatalf("port %d: got %q, %v; want %q", port, got, err, want)
	}
}

func TestActivateDeactivate(t *testing.T) {
	x := proctest.StartXinetd(t)
	comp, port := component(t)
	f := proctest.NewFixture(t, "xinetd-service", "xinetdTargetDir="+x.IncludeDir, "xinetdPidFile="+x.PidFile)
	f.MustRun(t, Module{}, module.Activate, comp)
	eventually(t, port, "hello from xinetd")
	if !f.Active(t, comp) {
		t.Fatal("not marked active")
	}
	f.MustRun(t, Module{}, module.Activate, comp)
	eventually(t, port, "hello from xinetd")

	f.MustRun(t, Module{}, module.Deactivate, comp)
	eventually(t, port, "")
	if f.Active(t, comp) {
		t.Fatal("still marked active")
	}
	if !proctest.Alive(x.Pid) {
		t.Fatal("xinetd died")
	}
}

// TestNoXinetd: a pid file naming no live process fails activation before
// anything is linked; deactivation then only warns.
func TestNoXinetd(t *testing.T) {
	comp, _ := component(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "xinetd.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "new", "xinetd.d")
	f := proctest.NewFixture(t, "xinetd-service", "xinetdTargetDir="+target, "xinetdPidFile="+pidFile)
	err := f.Run(Module{}, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("activate with a stale xinetd pid file: %v; want an error saying xinetd is not running", err)
	}
	if _, err := os.Lstat(filepath.Join(target, "hello")); !os.IsNotExist(err) {
		t.Fatalf("link left behind: %v", err)
	}
	if f.Active(t, comp) {
		t.Fatal("marked active")
	}
	f.MustRun(t, Module{}, module.Deactivate, comp) // nothing to tell xinetd: a warning
	if !f.Log.Warned("not running") {
		t.Errorf("no warning: %q", f.Log.Warns)
	}
}

func TestProcessesNamed(t *testing.T) {
	x := proctest.StartXinetd(t)
	pids, err := processesNamed("xinetd")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, x.Pid) {
		t.Fatalf("processesNamed(xinetd) = %v; want it to include %d", pids, x.Pid)
	}
}
