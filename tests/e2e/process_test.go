package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

// The process and service modules through the command line Disnix uses:
//   dysnomia --type T --operation O --component C --container T --environment
// with the container properties in the environment.

func callAs(t *testing.T, env []string, typ, op, comp string) Result {
	t.Helper()
	return Run(t, env, "dysnomia", "--type", typ, "--operation", op, "--component", comp, "--container", typ, "--environment")
}

func mustCall(t *testing.T, env []string, typ, op, comp string) {
	t.Helper()
	if r := callAs(t, env, typ, op, comp); r.Code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", typ, op, r.Code, r.Stdout, r.Stderr)
	}
}

func waitAnswer(t *testing.T, ask func() (string, error), up bool) {
	t.Helper()
	var err error
	ok, _ := service.WaitFor(context.Background(), 10*time.Second, func() (bool, error) {
		_, err = ask()
		return (err == nil) == up, nil
	})
	if !ok {
		t.Fatalf("answering = %v (last error %v); want %v", !up, err, up)
	}
}

func activated(t *testing.T, env []string) []string {
	t.Helper()
	return lines(MustRun(t, env, "dysnomia-containers", "--query-activated-components").Stdout)
}

func TestDisnixProcess(t *testing.T) {
	env, _ := StateEnv(t)
	root := t.TempDir()
	comp := filepath.Join(root, "webapp")
	d := proctest.NewDaemon(t, filepath.Join(comp, "bin", "webapp"), filepath.Join(root, "webapp.pid"), filepath.Join(root, "webapp.sock"), false, false)
	t.Cleanup(func() { proctest.KillFromPidFile(d.PidFile) })
	env = append(env, "runtimeDir="+root)
	mustCall(t, env, "process", "activate", comp)
	waitAnswer(t, d.Ask, true)
	if got := activated(t, env); len(got) != 1 || got[0] != "process/webapp" {
		t.Errorf("activated = %q", got)
	}
	mustCall(t, env, "process", "lock", comp)
	mustCall(t, env, "process", "deactivate", comp)
	waitAnswer(t, d.Ask, false)
	if got := activated(t, env); len(got) != 0 {
		t.Errorf("activated after deactivate = %q", got)
	}
}

func TestDisnixSysvinit(t *testing.T) {
	env, _ := StateEnv(t)
	root := t.TempDir()
	comp := filepath.Join(root, "webapp")
	d := proctest.NewDaemon(t, filepath.Join(comp, "libexec", "webappd"), filepath.Join(root, "webapp.pid"), filepath.Join(root, "webapp.sock"), false, false)
	t.Cleanup(func() { proctest.KillFromPidFile(d.PidFile) })
	q := proctest.ShellQuote
	write(t, filepath.Join(comp, "etc", "rc.d", "init.d", "webapp"), "#!/bin/sh\ncase \"$1\" in\n start) exec "+q(d.Script)+" ;;\n stop) kill \"$(cat "+q(d.PidFile)+")\" ;;\nesac\n", 0o755)
	if err := os.MkdirAll(filepath.Join(comp, "etc", "rc.d", "rc5.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../init.d/webapp", filepath.Join(comp, "etc", "rc.d", "rc5.d", "S20webapp")); err != nil {
		t.Fatal(err)
	}
	env = append(env, "runlevel=5")
	mustCall(t, env, "sysvinit-script", "activate", comp)
	waitAnswer(t, d.Ask, true)
	mustCall(t, env, "sysvinit-script", "deactivate", comp)
	waitAnswer(t, d.Ask, false)
}

func TestDisnixSupervisord(t *testing.T) {
	sv := proctest.StartSupervisord(t)
	env, _ := StateEnv(t)
	root := t.TempDir()
	comp := filepath.Join(root, "hello")
	d := proctest.NewDaemon(t, filepath.Join(comp, "bin", "hello"), "", filepath.Join(root, "hello.sock"), false, true)
	write(t, filepath.Join(comp, "conf.d", "hello.conf"), "[program:hello]\ncommand="+d.Script+"\nstartsecs=0\n", 0o644)
	env = append(env, "supervisordTargetDir="+sv.ConfDir, "supervisordConfFile="+sv.ConfFile)
	mustCall(t, env, "supervisord-program", "activate", comp)
	waitAnswer(t, d.Ask, true)
	mustCall(t, env, "supervisord-program", "deactivate", comp)
	waitAnswer(t, d.Ask, false)
}

func TestDisnixXinetd(t *testing.T) {
	x := proctest.StartXinetd(t)
	env, _ := StateEnv(t)
	comp := filepath.Join(t.TempDir(), "hello")
	port := proctest.FreePort(t)
	write(t, filepath.Join(comp, "etc", "xinetd.d", "hello"), proctest.EchoService("hello", port, "hi"), 0o644)
	env = append(env, "xinetdTargetDir="+x.IncludeDir, "xinetdPidFile="+x.PidFile)
	ask := func() (string, error) { return proctest.AskTCP(port) }
	mustCall(t, env, "xinetd-service", "activate", comp)
	waitAnswer(t, ask, true)
	mustCall(t, env, "xinetd-service", "deactivate", comp)
	waitAnswer(t, ask, false)
}

// TestDisnixS6rc: Debian 12 has no s6-rc, so this checks that activation
// fails naming the missing program and leaves the service directory as it
// was.
func TestDisnixS6rc(t *testing.T) {
	env, _ := StateEnv(t)
	root := t.TempDir()
	comp := filepath.Join(root, "hello")
	write(t, filepath.Join(comp, "etc", "s6", "sv", "hello", "type"), "longrun\n", 0o644)
	write(t, filepath.Join(comp, "etc", "s6", "sv", "hello", "run"), "#!/bin/sh\nexec sleep 100\n", 0o755)
	env = append(env, "serviceDir="+filepath.Join(root, "sv"), "compileDir="+filepath.Join(root, "db"), "liveDir="+filepath.Join(root, "live"), "PATH="+t.TempDir())
	r := callAs(t, env, "s6-rc-service", "activate", comp)
	if r.Code == 0 || !strings.Contains(r.Stderr, "s6-rc-compile") {
		t.Fatalf("exit %d, stderr %q; want a failure naming s6-rc-compile", r.Code, r.Stderr)
	}
	if _, err := os.Lstat(filepath.Join(root, "sv", "hello")); !os.IsNotExist(err) {
		t.Errorf("link left after the failed activation: %v", err)
	}
}

// TestDisnixSystemd runs against a recording systemctl (no systemd here;
// tests/nixos/systemd-unit.nix has the real one).
func TestDisnixSystemd(t *testing.T) {
	env, _ := StateEnv(t)
	comp := filepath.Join(t.TempDir(), "web")
	write(t, filepath.Join(comp, "etc", "systemd", "system", "web.service"), "[Service]\nExecStart=/bin/true\n", 0o644)
	bin, log := proctest.Recorder(t, "systemctl", "")
	target := filepath.Join(t.TempDir(), "units")
	env = append(env, "systemdTargetDir="+target, "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin")
	mustCall(t, env, "systemd-unit", "activate", comp)
	mustCall(t, env, "systemd-unit", "deactivate", comp)
	want := []string{"--system daemon-reload", "--system start web.service", "--system stop web.service", "--system daemon-reload"}
	if got := proctest.Calls(t, log); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("systemctl calls = %q; want %q", got, want)
	}
}

// TestDisnixDockerMissing: without a docker client the failure names it.
func TestDisnixDockerMissing(t *testing.T) {
	env, _ := StateEnv(t)
	comp := filepath.Join(t.TempDir(), "nginx")
	write(t, filepath.Join(comp, "nginx-docker-settings"), "dockerImageTag=nginx:test\n", 0o644)
	env = append(env, "PATH="+t.TempDir())
	r := callAs(t, env, "docker-container", "activate", comp)
	if r.Code == 0 || !strings.Contains(r.Stderr, "docker") || !strings.Contains(r.Stderr, "not found") {
		t.Fatalf("exit %d, stderr %q; want a failure naming docker", r.Code, r.Stderr)
	}
}

// TestDisnixManagedProcess: a stand-in nixproc-generate-config (not in
// Debian) hands over a configuration for the "disnix" manager, which the
// process module starts for real.
func TestDisnixManagedProcess(t *testing.T) {
	env, _ := StateEnv(t)
	root := t.TempDir()
	comp := filepath.Join(root, "webapp")
	write(t, filepath.Join(comp, "webapp.json"), "{}", 0o644)
	gen := filepath.Join(root, "generated-webapp")
	d := proctest.NewDaemon(t, filepath.Join(gen, "bin", "webapp"), filepath.Join(root, "webapp.pid"), filepath.Join(root, "webapp.sock"), false, false)
	t.Cleanup(func() { proctest.KillFromPidFile(d.PidFile) })
	bin := t.TempDir()
	write(t, filepath.Join(bin, "nixproc-generate-config"), "#!/bin/sh\necho "+proctest.ShellQuote(gen)+"\n", 0o755)
	env = append(env, "processManager=disnix", "runtimeDir="+root, "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin")
	mustCall(t, env, "managed-process", "activate", comp)
	waitAnswer(t, d.Ask, true)
	if got := activated(t, env); len(got) != 1 || got[0] != "managed-process/webapp" {
		t.Errorf("activated = %q", got)
	}
	mustCall(t, env, "managed-process", "deactivate", comp)
	waitAnswer(t, d.Ask, false)
}

func TestDisnixForeignTypes(t *testing.T) {
	env, _ := StateEnv(t)
	comp := t.TempDir()
	for typ, system := range map[string]string{
		"launchd-daemon": "macOS", "bsdrc-script": "FreeBSD", "cygrunsrv-service": "Cygwin",
		"iis-webapplication": "IIS", "mssql-database": "SQL Server",
	} {
		r := callAs(t, env, typ, "activate", comp)
		if r.Code != 1 || !strings.Contains(r.Stderr, typ) || !strings.Contains(r.Stderr, system) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and a message naming the type and %s", typ, r.Code, r.Stderr, system)
		}
	}
}
