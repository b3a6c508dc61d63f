package s6rc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

// Debian 12 has s6 but not s6-rc: these tests cover the service directory
// the module prepares (links, bundle), that s6 really supervises such a
// definition, and the rollback when compiling fails. TestCompileAndChange
// (live_test.go) runs the rest where s6-rc is installed.

func TestMain(m *testing.M) {
	proctest.DaemonMain()
	os.Exit(m.Run())
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

// component has one longrun service "hello" that runs a test daemon in the
// foreground.
func component(t *testing.T) (comp string, d *proctest.Daemon) {
	t.Helper()
	root := t.TempDir()
	comp = filepath.Join(root, "hello")
	d = proctest.NewDaemon(t, filepath.Join(comp, "bin", "hello"), "", filepath.Join(root, "hello.sock"), false, true)
	write(t, filepath.Join(comp, "etc", "s6", "sv", "hello", "type"), "longrun\n", 0o644)
	write(t, filepath.Join(comp, "etc", "s6", "sv", "hello", "run"), "#!/bin/sh\nexec "+proctest.ShellQuote(d.Script)+"\n", 0o755)
	return comp, d
}

func settingsFor(t *testing.T, comp string, props ...string) (*settings, *proctest.Fixture) {
	t.Helper()
	f := proctest.NewFixture(t, "s6-rc-service", props...)
	s, err := loadSettings(f.Request(module.Activate, comp))
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

func contents(t *testing.T, s *settings) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.ServiceDir, s.Bundle, "contents"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func TestStageUnstage(t *testing.T) {
	comp, _ := component(t)
	svc := filepath.Join(t.TempDir(), "sv")
	s, _ := settingsFor(t, comp, "serviceDir="+svc, "bundleName=apps")
	write(t, filepath.Join(svc, "apps", "contents"), "other\n", 0o644)
	for i := 0; i < 2; i++ {
		if err := s.stage(); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"other", "hello"}, contents(t, s)); diff != "" {
		t.Errorf("bundle contents (-want +got):\n%s", diff)
	}
	if typ, err := os.ReadFile(filepath.Join(svc, "apps", "type")); err != nil || string(typ) != "bundle\n" {
		t.Errorf("bundle type = %q, %v", typ, err)
	}
	if !service.PointsInto(filepath.Join(svc, "hello"), filepath.Join(comp, "etc", "s6", "sv")) {
		t.Error("hello is not linked into the service dir")
	}

	// Another version of the component took the name: its link and bundle
	// entry stay when this one is withdrawn.
	comp2, _ := component(t)
	s2, _ := settingsFor(t, comp2, "serviceDir="+svc, "bundleName=apps")
	if err := s2.stage(); err != nil {
		t.Fatal(err)
	}
	if err := s.unstage(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"other", "hello"}, contents(t, s)); diff != "" {
		t.Errorf("after withdrawing the old version (-want +got):\n%s", diff)
	}
	if err := s2.unstage(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"other"}, contents(t, s)); diff != "" {
		t.Errorf("after withdrawing both (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(svc, "hello")); !os.IsNotExist(err) {
		t.Errorf("link left: %v", err)
	}
}

// TestRollbackWithoutCompiler: when s6-rc-compile cannot run, activation
// fails naming it, and the service dir is as before.
func TestRollbackWithoutCompiler(t *testing.T) {
	comp, _ := component(t)
	root := t.TempDir()
	svc := filepath.Join(root, "sv")
	f := proctest.NewFixture(t, "s6-rc-service", "serviceDir="+svc, "compileDir="+filepath.Join(root, "compiled"), "liveDir="+filepath.Join(root, "live"))
	f.Env = []string{"PATH=" + t.TempDir()}
	err := f.Run(Module{}, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), "s6-rc-compile") {
		t.Fatalf("error %v; want one naming s6-rc-compile", err)
	}
	if _, err := os.Lstat(filepath.Join(svc, "hello")); !os.IsNotExist(err) {
		t.Errorf("link left after the failed activate: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(svc, "default", "contents"))
	if strings.Contains(string(data), "hello") {
		t.Errorf("bundle still lists hello: %q", data)
	}
	if f.Active(t, comp) {
		t.Error("marked active")
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "compiled")); len(entries) != 0 {
		t.Errorf("compile dir holds %d entries after failed compiles", len(entries))
	}
}

// TestSupervised: a definition staged by the module runs under a real
// s6-svscan (what s6-rc-init and s6-rc-update hand it), and stops with
// s6-svc -d.
func TestSupervised(t *testing.T) {
	svscan := proctest.LookPath(t, "s6-svscan")
	svc6 := proctest.LookPath(t, "s6-svc")
	comp, d := component(t)
	root := t.TempDir()
	s, _ := settingsFor(t, comp, "serviceDir="+filepath.Join(root, "sv"))
	if err := s.stage(); err != nil {
		t.Fatal(err)
	}
	scan := filepath.Join(root, "scan")
	if err := os.MkdirAll(scan, 0o755); err != nil {
		t.Fatal(err)
	}
	// s6-supervise writes its state into the service directory, which in a
	// store path is read-only: s6-rc copies definitions into its live
	// directory, so do the same here.
	live := filepath.Join(root, "live", "hello")
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-rL", filepath.Join(s.ServiceDir, "hello"), live).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	if err := os.Symlink(live, filepath.Join(scan, "hello")); err != nil {
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
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	wait := func(up bool) bool {
		ok, _ := service.WaitFor(context.Background(), 10*time.Second, func() (bool, error) {
			_, err := d.Ask()
			return (err == nil) == up, nil
		})
		return ok
	}
	if !wait(true) {
		t.Fatal("the staged service does not answer under s6-svscan")
	}
	if out, err := exec.Command(svc6, "-d", live).CombinedOutput(); err != nil {
		t.Fatalf("s6-svc -d: %v\n%s", err, out)
	}
	if !wait(false) {
		t.Fatal("the service still answers after s6-svc -d")
	}
}
