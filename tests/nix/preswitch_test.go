package nix

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The pre-switch check as switch-to-configuration runs it. nixpkgs builds
// one script from every system.preSwitchChecks entry
// (nixos/modules/system/activation/pre-switch-check.nix); its shape
// changed in 25.05, and so did the call:
//
//   - 25.05 and later: a writeShellApplication (errexit, nounset,
//     pipefail), each check in `if ! ( … ) >&2; then … exit 1; fi`, called
//     as `pre-switch-checks NEW_TOPLEVEL ACTION`;
//   - 24.11: a writeShellScript, each check in `( … )` followed by a test
//     of $?, called as `pre-switch-checks NEW_TOPLEVEL`, with the action
//     only in NIXOS_ACTION (exported for the whole switch).
//
// preSwitchScript writes the script of one nixpkgs generation for checks.
func preSwitchScript(t *testing.T, dir, generation string, checks map[string]string) string {
	t.Helper()
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	switch generation {
	case "25.05":
		b.WriteString("set -o errexit\nset -o nounset\nset -o pipefail\n")
		for _, n := range names {
			b.WriteString("# pre-switch check " + n + "\nif ! (\n" + checks[n] + "\n) >&2 ; then\n  echo \"Pre-switch check '" + n + "' failed\" >&2\n  exit 1\nfi\n")
		}
	case "24.11":
		for _, n := range names {
			b.WriteString("# pre-switch check " + n + "\n(\n" + checks[n] + "\n)\nif [[ $? != 0 ]]; then\n  echo \"Pre-switch check '" + n + "' failed\"\n  exit 1\nfi\n")
		}
	default:
		t.Fatalf("no nixpkgs generation %q", generation)
	}
	path := filepath.Join(dir, "pre-switch-checks-"+generation)
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runPreSwitch runs script the way that nixpkgs generation's
// switch-to-configuration does for action.
func runPreSwitch(t *testing.T, script, generation, toplevel, action string) (string, error) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{script, toplevel}
	if generation == "25.05" {
		args = append(args, action)
	}
	// Under the umask a root shell has (022), which the check must tighten.
	cmd := exec.Command(bash, append([]string{"-c", `umask 022 && exec bash "$@"`, "bash"}, args...)...)
	// switch-to-configuration exports NIXOS_ACTION in both generations.
	cmd.Env = append(os.Environ(), "NIXOS_ACTION="+action)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// preSwitchSetup evaluates a configuration whose package is pkgDir (a
// directory with bin/dysnomia) and state directory stateDir, and writes the
// candidate system: a toplevel holding etc/dysnomia/system.json. It
// returns the pre-switch checks and the toplevel.
func preSwitchSetup(t *testing.T, dir, pkgDir, stateDir string) (map[string]string, string) {
	t.Helper()
	cfg := `{ pkgs, ... }: {
	  services.postgresql.enable = true;
	  services.dysnomia = {
	    enable = true;
	    stateDir = ` + nixString(stateDir) + `;
	    package = pkgs.drv "dysnomia-test" { } // { outPath = ` + nixString(pkgDir) + `; };
	    components.postgresql-database.app.sql = "CREATE TABLE t (x int);";
	  };
	}`
	var got struct {
		Checks map[string]string
		Config string
		Failed []string
	}
	decodeInto(t, "evaluation", evalNixOS(t, cfg, "", `e: {
	  Checks = e.config.system.preSwitchChecks;
	  Config = e.config.system.build.dysnomiaConfig.text;
	  Failed = e.failedAssertions;
	}`), &got)
	if len(got.Failed) != 0 {
		t.Fatalf("failed assertions: %q", got.Failed)
	}
	toplevel := filepath.Join(dir, "system")
	if err := os.MkdirAll(filepath.Join(toplevel, "etc", "dysnomia"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(toplevel, "etc", "dysnomia", "system.json"), []byte(got.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	return got.Checks, toplevel
}

// TestPreSwitchCheckArguments runs the module's pre-switch check in both
// nixpkgs generations' scripts with a recording stand-in for the binary:
// it gets the toplevel and, from 25.05 on, the action; before 25.05 only
// the toplevel, with the action in NIXOS_ACTION; either way with umask
// 077, though switch-to-configuration runs with the caller's (022).
func TestPreSwitchCheckArguments(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	log := filepath.Join(dir, "log")
	if err := os.MkdirAll(filepath.Join(rec, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	recorder := "#!/bin/sh\n{ printf 'args:'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; echo \"NIXOS_ACTION=$NIXOS_ACTION\"; echo \"umask=$(umask)\"; } > " + log + "\n"
	if err := os.WriteFile(filepath.Join(rec, "bin", "dysnomia"), []byte(recorder), 0o755); err != nil {
		t.Fatal(err)
	}
	checks, toplevel := preSwitchSetup(t, dir, rec, filepath.Join(dir, "state"))
	if _, ok := checks["dysnomia"]; !ok {
		t.Fatalf("system.preSwitchChecks has no dysnomia: %v", checks)
	}
	for _, tc := range []struct {
		generation, action, want string
	}{
		{"25.05", "switch", "args: [system pre-switch] [" + toplevel + "] [switch]\nNIXOS_ACTION=switch\numask=0077\n"},
		{"25.05", "boot", "args: [system pre-switch] [" + toplevel + "] [boot]\nNIXOS_ACTION=boot\numask=0077\n"},
		{"24.11", "switch", "args: [system pre-switch] [" + toplevel + "]\nNIXOS_ACTION=switch\numask=0077\n"},
		{"24.11", "dry-activate", "args: [system pre-switch] [" + toplevel + "]\nNIXOS_ACTION=dry-activate\numask=0077\n"},
	} {
		t.Run(tc.generation+" "+tc.action, func(t *testing.T) {
			os.Remove(log)
			script := preSwitchScript(t, dir, tc.generation, checks)
			if out, err := runPreSwitch(t, script, tc.generation, toplevel, tc.action); err != nil {
				t.Fatalf("pre-switch checks: %v\n%s", err, out)
			}
			got, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			// The recorder prints "system" and "pre-switch" as two arguments.
			want := strings.Replace(tc.want, "[system pre-switch]", "[system] [pre-switch]", 1)
			if string(got) != want {
				t.Errorf("the binary was run with\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestPreSwitchCheckBinary runs the module's pre-switch check with the real
// binary in both generations' scripts: it accepts either call (the
// regression: before 25.05 an empty $2 made it exit "unknown action" and
// abort every switch), and a dry activation takes no snapshot.
func TestPreSwitchCheckBinary(t *testing.T) {
	goTool := need(t, "go")
	dir := t.TempDir()
	pkg := buildDysnomia(t, goTool)
	checks, toplevel := preSwitchSetup(t, dir, pkg, filepath.Join(dir, "state"))
	for _, tc := range []struct {
		generation, action, inOut string
	}{
		{"25.05", "switch", "nothing to snapshot"},
		{"24.11", "switch", "nothing to snapshot"},
		{"24.11", "boot", "nothing to snapshot"},
		{"24.11", "dry-activate", `action "dry-activate" changes nothing`},
		{"25.05", "check", `action "check" changes nothing`},
	} {
		t.Run(tc.generation+" "+tc.action, func(t *testing.T) {
			script := preSwitchScript(t, dir, tc.generation, checks)
			out, err := runPreSwitch(t, script, tc.generation, toplevel, tc.action)
			if err != nil || !strings.Contains(out, tc.inOut) {
				t.Errorf("pre-switch checks: %v, output:\n%s\nwant it to contain %q", err, out, tc.inOut)
			}
		})
	}
}

// buildDysnomia builds the binary once for the package's tests and
// returns a stand-in for the package: a directory with bin/dysnomia.
func buildDysnomia(t *testing.T, goTool string) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "dysnomia-tests-nix-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = filepath.Join(dir, "pkg")
		build := exec.Command(goTool, "build", "-o", filepath.Join(built.dir, "bin", "dysnomia"), "github.com/dysnomia-go/dysnomia/cmd/dysnomia")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// TestMain removes the binary buildDysnomia built.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(filepath.Dir(built.dir))
	}
	os.Exit(code)
}

// TestMinimumNixpkgs: on a nixpkgs without system.preSwitchChecks (before
// 24.11) the module does not fail with a bare "option does not exist" but
// with an assertion that names the minimum version.
func TestMinimumNixpkgs(t *testing.T) {
	var failed []string
	decodeInto(t, "evaluation", evalNixOS(t, baseConfig, `without = [ "system/activation/pre-switch-check.nix" ];`, `e: e.failedAssertions`), &failed)
	if len(failed) != 1 || !strings.Contains(failed[0], "services.dysnomia needs nixpkgs 24.11 or later") {
		t.Errorf("failed assertions %q, want one naming nixpkgs 24.11", failed)
	}
}

// TestPrivateState: the state directory is root's, mode 0700, made (and
// tightened when it exists) by systemd-tmpfiles; dysnomia.service runs with
// UMask=0077 and the pre-switch check starts with umask 077.
func TestPrivateState(t *testing.T) {
	cfg := `{ pkgs, ... }: {
	  services.postgresql.enable = true;
	  services.dysnomia.enable = true;
	  services.dysnomia.stateDir = "/srv/dysnomia state";
	}`
	var got struct {
		Tmpfiles map[string]map[string]map[string]map[string]string
		UMask    string
		Check    string
	}
	decodeInto(t, "evaluation", evalNixOS(t, cfg, "", `e: {
	  Tmpfiles = e.config.systemd.tmpfiles.settings;
	  UMask = e.config.systemd.services.dysnomia.serviceConfig.UMask;
	  Check = e.config.system.preSwitchChecks.dysnomia;
	}`), &got)
	want := map[string]map[string]map[string]map[string]string{
		"10-dysnomia": {"/srv/dysnomia state": {"d": {"type": "d", "mode": "0700", "user": "root", "group": "root", "age": "-", "argument": ""}}},
	}
	if diff := cmp.Diff(want, got.Tmpfiles); diff != "" {
		t.Errorf("systemd.tmpfiles.settings (-want +got):\n%s", diff)
	}
	if got.UMask != "0077" {
		t.Errorf("dysnomia.service UMask = %q, want 0077", got.UMask)
	}
	if !strings.HasPrefix(got.Check, "umask 077\n") {
		t.Errorf("the pre-switch check does not start with umask 077:\n%s", got.Check)
	}
}

// TestPreSwitchCheckShellcheck: nixpkgs 25.05 and later build the
// pre-switch checks with writeShellApplication, which runs shellcheck on
// them: a warning in the module's check would fail the system's build.
func TestPreSwitchCheckShellcheck(t *testing.T) {
	shellcheck := need(t, "shellcheck")
	dir := t.TempDir()
	checks, _ := preSwitchSetup(t, dir, filepath.Join(dir, "pkg"), filepath.Join(dir, "state"))
	script := preSwitchScript(t, dir, "25.05", map[string]string{"dysnomia": checks["dysnomia"]})
	if out, err := exec.Command(shellcheck, "--shell=bash", script).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
