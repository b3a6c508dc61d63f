package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSystem(t *testing.T, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"dysnomia"}, args...), strings.NewReader(""), &out, &errb, environ)
	return out.String(), errb.String(), code
}

func TestSystemCheckArguments(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"version": 1}`), 0o644)
	os.WriteFile(bad, []byte(`{"version": 1, "extra": true}`), 0o644)
	env := []string{"HOME=" + dir}
	tests := []struct {
		args       []string
		code       int
		out, inErr string
	}{
		{[]string{"system", "check", good}, 0, "", ""},
		{[]string{"system", "check", "--config", good}, 0, "", ""},
		{[]string{"system", "check", good, "--config", good}, 0, "", ""},
		{[]string{"system", "check", bad}, 1, bad + ": extra: unknown field (known fields: version, stateDir, properties, containers, components, snapshots, garbage)\n", "1 problem(s)"},
		{[]string{"system", "check", good, "--config", bad}, 1, "", "two configs given"},
		{[]string{"system", "check"}, 1, "", "no config given"},
		{[]string{"system", "check", filepath.Join(dir, "missing.json")}, 1, "", "missing.json"},
		{[]string{"system", "switch", "--config", bad}, 1, "", "extra: unknown field"},
		{[]string{"system", "pre-switch", dir, "reboot"}, 1, "", `unknown action "reboot"`},
		{[]string{"system", "pre-switch", dir, "switch"}, 0, "", "nothing to do"},
	}
	for _, tc := range tests {
		out, errs, code := runSystem(t, env, tc.args...)
		if code != tc.code || out != tc.out || (tc.inErr == "" && errs != "") || !strings.Contains(errs, tc.inErr) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q", tc.args, code, out, errs, tc.code, tc.out, tc.inErr)
		}
	}
}

// TestSystemStateDir: --state-dir wins over the config's stateDir, which
// wins over DYSNOMIA_STATEDIR.
func TestSystemStateDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "system.json")
	os.WriteFile(cfg, []byte(`{"version": 1, "stateDir": "`+filepath.Join(dir, "from-config")+`", "containers": {"e": {"type": "echo"}}}`), 0o644)
	env := []string{"HOME=" + dir, "DYSNOMIA_STATEDIR=" + filepath.Join(dir, "from-env")}
	if _, errs, code := runSystem(t, env, "system", "switch", "--config", cfg); code != 0 {
		t.Fatalf("switch: %d %s", code, errs)
	}
	if _, errs, code := runSystem(t, env, "--state-dir", filepath.Join(dir, "from-flag"), "system", "switch", "--config", cfg); code != 0 {
		t.Fatalf("switch: %d %s", code, errs)
	}
	for name, want := range map[string]bool{"from-config": true, "from-flag": true, "from-env": false} {
		_, err := os.Stat(filepath.Join(dir, name, "system", "applied.json"))
		if (err == nil) != want {
			t.Errorf("%s/system/applied.json exists: %v, want %v", name, err == nil, want)
		}
	}
}

// Every component a system config declares works by name with every
// single-component activity once the switch has run, its own properties
// included (a fileset's targetDir is a component property): the commands
// find them in what the switch applied.
func TestDeclaredComponentsWorkByName(t *testing.T) {
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	comp := filepath.Join(dir, "components", "uploads")
	os.MkdirAll(comp, 0o755)
	os.WriteFile(filepath.Join(comp, ".dysnomia-fileset"), []byte("mkdir uploads\n"), 0o644)
	other := filepath.Join(dir, "v2", "uploads") // the same name, another path
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, ".dysnomia-fileset"), []byte("mkdir uploads\n"), 0o644)
	cfg := filepath.Join(dir, "system.json")
	os.WriteFile(cfg, []byte(`{"version": 1, "stateDir": "`+filepath.Join(dir, "state")+`",
		"containers": {"fileset": {"type": "fileset"}},
		"components": {"fileset": {"uploads": {"path": "`+comp+`", "properties": {"targetDir": "`+files+`"}}}}}`), 0o644)
	state := filepath.Join(dir, "state")
	env := []string{"HOME=" + dir, "DYSNOMIA_STATEDIR=" + state,
		"DYSNOMIA_CONTAINERS_PATH=" + filepath.Join(state, "system", "etc", "containers"),
		"DYSNOMIA_COMPONENTS_PATH=" + filepath.Join(state, "system", "etc", "components")}
	if _, errs, code := runSystem(t, env, "system", "switch", "--config", cfg); code != 0 {
		t.Fatalf("switch: %d %s", code, errs)
	}
	os.WriteFile(filepath.Join(files, "uploads", "a.txt"), []byte("kept"), 0o644)
	for _, act := range []string{"activate", "lock", "unlock", "snapshot", "restore", "shell", "deactivate", "collect-garbage", "activate"} {
		args := []string{act, "--container", "fileset", "--component", "uploads"}
		if act == "shell" {
			args = append(args, "--command", "true")
		}
		if _, errs, code := runSystem(t, env, args...); code != 0 {
			t.Fatalf("%s by name: exit %d: %s", act, code, errs)
		}
		if act == "snapshot" {
			os.Remove(filepath.Join(files, "uploads", "a.txt"))
		}
		if act == "restore" {
			if data, err := os.ReadFile(filepath.Join(files, "uploads", "a.txt")); err != nil || string(data) != "kept" {
				t.Fatalf("after restore by name: %q, %v", data, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(files, "uploads", "a.txt")); err == nil {
		t.Errorf("collect-garbage by name left the fileset's files")
	}
	// A component at another path than the declared one does not get the
	// declared component's properties.
	_, errs, code := runSystem(t, env, "snapshot", "--container", "fileset", "--component", other)
	if code == 0 || !strings.Contains(errs, "targetDir") {
		t.Errorf("snapshot of an undeclared path: exit %d, %q; want a missing targetDir error", code, errs)
	}
}

// TestSystemPreSwitchAction: the action comes from the second argument, or
// from NIXOS_ACTION when switch-to-configuration passes only the toplevel
// (nixpkgs before 25.05); the argument wins over the variable, and neither
// is an error that names both.
func TestSystemPreSwitchAction(t *testing.T) {
	dir := t.TempDir()
	toplevel := filepath.Join(dir, "system")
	if err := os.MkdirAll(filepath.Join(toplevel, "etc", "dysnomia"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := `{"version": 1, "stateDir": "` + filepath.Join(dir, "state") + `", "containers": {"e": {"type": "echo"}}}`
	if err := os.WriteFile(filepath.Join(toplevel, "etc", "dysnomia", "system.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		env    string // NIXOS_ACTION, "" for unset
		code   int
		inErr  string
		notErr string
	}{
		{"argument", []string{toplevel, "dry-activate"}, "", 0, `action "dry-activate" changes nothing`, ""},
		{"variable", []string{toplevel}, "dry-activate", 0, `action "dry-activate" changes nothing`, ""},
		{"variable with an empty argument", []string{toplevel, ""}, "check", 0, `action "check" changes nothing`, ""},
		{"variable switch", []string{toplevel}, "switch", 0, "nothing to snapshot", "changes nothing"},
		{"argument wins", []string{toplevel, "switch"}, "dry-activate", 0, "nothing to snapshot", "changes nothing"},
		{"bad argument wins", []string{toplevel, "reboot"}, "switch", 1, `unknown action "reboot"`, ""},
		{"bad variable", []string{toplevel}, "reboot", 1, `unknown action "reboot"`, ""},
		{"neither", []string{toplevel}, "", 1, "no action: give it as the second argument (dysnomia system pre-switch NEW_TOPLEVEL ACTION) or in NIXOS_ACTION", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"HOME=" + dir}
			if tc.env != "" {
				env = append(env, "NIXOS_ACTION="+tc.env)
			}
			args := append([]string{"system", "pre-switch", "--current", filepath.Join(dir, "none.json")}, tc.args...)
			_, errs, code := runSystem(t, env, args...)
			if code != tc.code || !strings.Contains(errs, tc.inErr) || (tc.notErr != "" && strings.Contains(errs, tc.notErr)) {
				t.Errorf("%v with NIXOS_ACTION=%q: exit %d, stderr %q; want exit %d, stderr with %q", tc.args, tc.env, code, errs, tc.code, tc.inErr)
			}
		})
	}
}
