package process

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

func TestMain(m *testing.M) {
	proctest.DaemonMain()
	os.Exit(m.Run())
}

// component makes a component whose bin/ holds one program starting a test
// daemon, and a runtime directory for its pid file.
func component(t *testing.T, ignoreTerm bool) (comp, runtimeDir string, d *proctest.Daemon) {
	t.Helper()
	root := t.TempDir()
	comp = filepath.Join(root, "webapp")
	runtimeDir = filepath.Join(root, "run")
	if err := os.MkdirAll(runtimeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	d = proctest.NewDaemon(t, filepath.Join(comp, "bin", "webapp"), filepath.Join(runtimeDir, "webapp.pid"), filepath.Join(root, "webapp.sock"), ignoreTerm, false)
	killAtEnd(t, d)
	return comp, runtimeDir, d
}

// killAtEnd kills the daemons a test started, whatever happened.
func killAtEnd(t *testing.T, d *proctest.Daemon) {
	var seen []int
	t.Cleanup(func() {
		if pid, err := d.Pid(); err == nil {
			seen = append(seen, pid)
		}
		for _, pid := range seen {
			proctest.Kill(pid)
		}
	})
}

func TestActivateDeactivate(t *testing.T) {
	comp, runtimeDir, d := component(t, false)
	f := proctest.NewFixture(t, "process", "runtimeDir="+runtimeDir)
	f.MustRun(t, Module{}, module.Activate, comp)
	pid, err := d.Pid()
	if err != nil {
		t.Fatalf("no pid file after activate: %v\n%s", err, f.Out.String())
	}
	if got, err := d.Ask(); err != nil || got != fmt.Sprintf("hello from %d", pid) {
		t.Fatalf("daemon answered %q, %v; want hello from %d", got, err, pid)
	}
	if !f.Active(t, comp) {
		t.Fatal("not marked active")
	}

	f.MustRun(t, Module{}, module.Activate, comp) // running: nothing started
	if again, _ := d.Pid(); again != pid {
		t.Fatalf("second activate started another daemon: pid %d, was %d", again, pid)
	}

	f.MustRun(t, Module{}, module.Deactivate, comp)
	if proctest.Alive(pid) {
		t.Fatal("the daemon is still running when deactivate returns")
	}
	if _, err := os.Stat(d.PidFile); !os.IsNotExist(err) {
		t.Errorf("pid file still there: %v", err)
	}
	if f.Active(t, comp) {
		t.Fatal("still marked active")
	}
	f.MustRun(t, Module{}, module.Deactivate, comp) // idempotent
}

// TestStalePidFile: a pid file left by a crashed daemon is not taken for a
// running process (upstream assumed it was and started nothing).
func TestStalePidFile(t *testing.T) {
	comp, runtimeDir, d := component(t, false)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := dead.Process.Pid
	if err := os.WriteFile(d.PidFile, []byte(strconv.Itoa(stale)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := proctest.NewFixture(t, "process", "runtimeDir="+runtimeDir)
	f.MustRun(t, Module{}, module.Activate, comp)
	pid, err := d.Pid()
	if err != nil || pid == stale || !proctest.Alive(pid) {
		t.Fatalf("pid file names %d (%v); want a new live daemon, not the stale %d", pid, err, stale)
	}
	if !f.Log.Warned("stale pid file") {
		t.Errorf("no warning about the stale pid file: %q", f.Log.Warns)
	}
	if _, err := d.Ask(); err != nil {
		t.Fatalf("daemon does not answer: %v", err)
	}

	// Deactivate with a stale pid file: nothing to kill, no error.
	f.MustRun(t, Module{}, module.Deactivate, comp)
	if err := os.WriteFile(d.PidFile, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.MustRun(t, Module{}, module.Deactivate, comp)
	if _, err := os.Stat(d.PidFile); !os.IsNotExist(err) {
		t.Errorf("unreadable pid file kept: %v", err)
	}
}

// TestStopTimeout: a daemon that ignores SIGTERM is killed after
// stopTimeout, and deactivate does not return before it is gone.
func TestStopTimeout(t *testing.T) {
	comp, runtimeDir, d := component(t, true)
	f := proctest.NewFixture(t, "process", "runtimeDir="+runtimeDir, "stopTimeout=1")
	f.MustRun(t, Module{}, module.Activate, comp)
	pid, err := d.Pid()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	f.MustRun(t, Module{}, module.Deactivate, comp)
	if el := time.Since(start); el < time.Second {
		t.Errorf("deactivate returned after %s, before stopTimeout", el)
	}
	if proctest.Alive(pid) {
		t.Fatal("daemon still alive")
	}
	if !f.Log.Warned("SIGKILL") {
		t.Errorf("no SIGKILL warning: %q", f.Log.Warns)
	}
}

// TestProcessConfig: etc/dysnomia/process/ names the program (with an
// argument) and the pid file, so bin/ may hold several programs.
func TestProcessConfig(t *testing.T) {
	comp, _, d := component(t, false)
	if err := os.WriteFile(filepath.Join(comp, "bin", "other"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "custom.pid")
	d2 := proctest.NewDaemon(t, filepath.Join(comp, "libexec", "start"), pidFile, d.Socket, false, false)
	killAtEnd(t, d2)
	f := proctest.NewFixture(t, "process")
	err := f.Run(Module{}, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), "2 programs") {
		t.Fatalf("two programs and no config: error %v; want one saying so", err)
	}
	cfg := filepath.Join(comp, "etc", "dysnomia", "process", "webapp")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("process=\""+d2.Script+" --ignored-argument\"\npidFile="+pidFile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.MustRun(t, Module{}, module.Activate, comp)
	pid, err := d2.Pid()
	if err != nil || !proctest.Alive(pid) {
		t.Fatalf("custom pid file: %d, %v", pid, err)
	}
	f.MustRun(t, Module{}, module.Deactivate, comp)
	if proctest.Alive(pid) {
		t.Fatal("still alive")
	}
	if err := os.WriteFile(cfg, []byte("pidFile=$(echo x)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Run(Module{}, module.Activate, comp); err == nil || !strings.Contains(err.Error(), cfg) {
		t.Errorf("shell in the config: error %v; want one naming %s", err, cfg)
	}
}

func uniqueUser(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	name := "dyp" + hex.EncodeToString(b)
	t.Cleanup(func() {
		exec.Command("userdel", name).Run()
		exec.Command("groupdel", name).Run()
	})
	return name
}

func addAccounts(t *testing.T, comp, name string) {
	t.Helper()
	for _, p := range []string{"groups", "users"} {
		if err := os.MkdirAll(filepath.Join(comp, "dysnomia-support", p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(comp, "dysnomia-support", "groups", name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(comp, "dysnomia-support", "users", name), []byte("group="+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAccounts: the component's user exists while the process runs, and
// is gone after deactivate, and after a failed activate.
func TestAccounts(t *testing.T) {
	proctest.RequireRoot(t)
	proctest.LookPath(t, "useradd")
	comp, runtimeDir, d := component(t, false)
	name := uniqueUser(t)
	addAccounts(t, comp, name)
	f := proctest.NewFixture(t, "process", "runtimeDir="+runtimeDir)
	f.MustRun(t, Module{}, module.Activate, comp)
	if _, err := user.Lookup(name); err != nil {
		t.Fatalf("user not created before the process: %v", err)
	}
	if _, err := d.Ask(); err != nil {
		t.Fatal(err)
	}
	f.MustRun(t, Module{}, module.Deactivate, comp)
	if _, err := user.Lookup(name); err == nil {
		t.Fatal("user still there after deactivate")
	}

	// A program that fails: nothing is left, not even the accounts.
	if err := os.WriteFile(d.Script, []byte("#!/bin/sh\necho cannot start >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := f.Run(Module{}, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("failing program: error %v; want its exit status", err)
	}
	if _, err := user.Lookup(name); err == nil {
		t.Fatal("user left behind by a failed activate")
	}
	if _, err := user.LookupGroup(name); err == nil {
		t.Fatal("group left behind by a failed activate")
	}
	if f.Active(t, comp) {
		t.Fatal("marked active after a failed activate")
	}
}
