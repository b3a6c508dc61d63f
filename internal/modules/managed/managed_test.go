package managed

// nix-processmgmt's nixproc-generate-config is not packaged for Debian:
// these tests put a stand-in generator on PATH that records its arguments
// and prints a configuration prepared by the test (a sysvinit script for a
// real test daemon), so the delegation to the sysvinit-script module runs
// for real.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/foreign"
	"github.com/dysnomia-go/dysnomia/internal/modules/sysvinit"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

func TestMain(m *testing.M) {
	proctest.DaemonMain()
	os.Exit(m.Run())
}

func registry() *module.Registry {
	r := module.NewRegistry()
	r.Add("sysvinit-script", sysvinit.Module{})
	for _, m := range foreign.Types {
		r.Add(m.Type, m)
	}
	r.Add("managed-process", Module{Registry: r})
	return r
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

func TestDelegatesToSysvinit(t *testing.T) {
	root := t.TempDir()
	comp := filepath.Join(root, "webapp")
	write(t, filepath.Join(comp, "webapp.json"), `{"name": "webapp"}`, 0o644)

	generated := filepath.Join(root, "generated-sysvinit-webapp")
	d := proctest.NewDaemon(t, filepath.Join(generated, "bin", "webapp"), filepath.Join(root, "webapp.pid"), filepath.Join(root, "webapp.sock"), false, false)
	t.Cleanup(func() { proctest.KillFromPidFile(d.PidFile) })
	q := proctest.ShellQuote
	write(t, filepath.Join(generated, "etc", "rc.d", "init.d", "webapp"), "#!/bin/sh\ncase \"$1\" in\n start) exec "+q(d.Script)+" ;;\n stop) kill \"$(cat "+q(d.PidFile)+")\"; while [ -f "+q(d.PidFile)+" ]; do sleep 0.05; done ;;\nesac\n", 0o755)
	if err := os.MkdirAll(filepath.Join(generated, "etc", "rc.d", "rc3.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../init.d/webapp", filepath.Join(generated, "etc", "rc.d", "rc3.d", "S50webapp")); err != nil {
		t.Fatal(err)
	}

	bin := t.TempDir()
	log := filepath.Join(bin, "args")
	write(t, filepath.Join(bin, "nixproc-generate-config"), "#!/bin/sh\necho \"$*\" >> "+q(log)+"\necho building... >&2\necho "+q(generated)+"\n", 0o755)

	f := proctest.NewFixture(t, "managed-process", "processManager=sysvinit", "stateDir=/srv/state", "cacheDir=/srv/cache")
	f.Env = append(f.Env, "PATH="+bin+":"+strings.TrimPrefix(f.Env[0], "PATH="))
	m, _ := registry().Native("managed-process")

	f.MustRun(t, m, module.Activate, comp)
	if _, err := d.Ask(); err != nil {
		t.Fatalf("the generated sysvinit script's daemon does not answer: %v\n%s", err, f.Out.String())
	}
	acts, err := f.Store.Activated()
	if err != nil || len(acts) != 1 || acts[0].Component != "webapp" || acts[0].ComponentPath != comp {
		t.Fatalf("activated markers %+v, %v; want managed-process/webapp recording %s", acts, err, comp)
	}
	f.MustRun(t, m, module.Lock, comp) // no generation for lock
	f.MustRun(t, m, module.Deactivate, comp)
	if _, err := d.Ask(); err == nil {
		t.Fatal("daemon still answers after deactivate")
	}
	if f.Active(t, comp) {
		t.Fatal("still marked active")
	}
	args := proctest.Calls(t, log)
	want := "--process-manager sysvinit --state-dir /srv/state --cache-dir /srv/cache --no-out-link " + filepath.Join(comp, "webapp.json")
	if diff := cmp.Diff([]string{want, want}, args); diff != "" {
		t.Errorf("generator arguments (-want +got):\n%s", diff)
	}
}

func TestManagers(t *testing.T) {
	comp := filepath.Join(t.TempDir(), "svc")
	write(t, filepath.Join(comp, "svc.json"), "{}", 0o644)
	bin := t.TempDir()
	gen := t.TempDir()
	write(t, filepath.Join(bin, "nixproc-generate-config"), "#!/bin/sh\necho "+proctest.ShellQuote(gen)+"\n", 0o755)
	m, _ := registry().Native("managed-process")
	for pm, want := range map[string]string{
		"launchd": "needs macOS",
		"bsdrc":   "needs FreeBSD",
		"upstart": `processManager="upstart"`,
		"":        `processManager=""`,
		"disnix":  "no built-in module process", // not in this test's registry
	} {
		f := proctest.NewFixture(t, "managed-process", "processManager="+pm)
		f.Env = append(f.Env, "PATH="+bin+":"+strings.TrimPrefix(f.Env[0], "PATH="))
		err := f.Run(m, module.Activate, comp)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("processManager %q: error %v; want %q", pm, err, want)
		}
	}
	f := proctest.NewFixture(t, "managed-process", "processManager=sysvinit")
	f.Env = []string{"PATH=" + t.TempDir()}
	if err := f.Run(m, module.Activate, comp); err == nil || !strings.Contains(err.Error(), "nixproc-generate-config") {
		t.Errorf("without a generator: %v", err)
	}
}
