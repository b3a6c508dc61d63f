package s6rc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

// TestCompileAndChange runs the whole module against real s6-rc under a
// real s6-svscan. Debian 12 has no s6-rc package, so this test runs only
// where s6-rc-compile is on PATH (e.g. s6-rc built from source) and skips
// otherwise, also under CI=true: CI cannot install s6-rc.
func TestCompileAndChange(t *testing.T) {
	for _, p := range []string{"s6-rc-compile", "s6-rc-init", "s6-rc-update", "s6-rc"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not on PATH (Debian 12 has no s6-rc): %v", p, err)
		}
	}
	svscan := proctest.LookPath(t, "s6-svscan")
	root := t.TempDir()
	scan := filepath.Join(root, "scan")
	if err := os.MkdirAll(scan, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(svscan, scan)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("s6-svscanctl", "-t", scan).Run()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	time.Sleep(200 * time.Millisecond) // s6-svscan sets up its control directory

	f := proctest.NewFixture(t, "s6-rc-service", "scanDir="+scan, "serviceDir="+filepath.Join(root, "sv"),
		"compileDir="+filepath.Join(root, "compiled"), "liveDir="+filepath.Join(root, "live"))
	wait := func(d *proctest.Daemon, up bool) {
		t.Helper()
		ok, _ := service.WaitFor(context.Background(), 10*time.Second, func() (bool, error) {
			_, err := d.Ask()
			return (err == nil) == up, nil
		})
		if !ok {
			t.Fatalf("service answering = %v; want %v\n%s", !up, up, f.Out.String())
		}
	}
	hello, dh := component(t)
	other := filepath.Join(t.TempDir(), "other")
	do := proctest.NewDaemon(t, filepath.Join(other, "bin", "other"), "", filepath.Join(filepath.Dir(other), "other.sock"), false, true)
	write(t, filepath.Join(other, "etc", "s6", "sv", "other", "type"), "longrun\n", 0o644)
	write(t, filepath.Join(other, "etc", "s6", "sv", "other", "run"), "#!/bin/sh\nexec "+proctest.ShellQuote(do.Script)+"\n", 0o755)

	f.MustRun(t, Module{}, module.Activate, hello) // s6-rc-init
	wait(dh, true)
	f.MustRun(t, Module{}, module.Activate, other) // s6-rc-update
	wait(do, true)
	f.MustRun(t, Module{}, module.Activate, hello) // again: still up
	wait(dh, true)
	f.MustRun(t, Module{}, module.Deactivate, hello)
	wait(dh, false)
	wait(do, true)
	f.MustRun(t, Module{}, module.Deactivate, other)
	wait(do, false)
	dbs, _ := filepath.Glob(filepath.Join(root, "compiled", "compiled-*"))
	if len(dbs) != 1 {
		t.Errorf("compiled databases left: %v; want only the current one", dbs)
	}
}
