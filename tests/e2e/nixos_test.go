package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDisnixNixOSConfiguration deploys a "system" whose own Dysnomia
// configuration holds a fileset, without the system profile (no NixOS
// here: the component's switch-to-configuration only records how it was
// called; tests/nixos/nixos-configuration.nix switches a real system). The
// inner deploy, snapshot, restore and collect-garbage run for real.
func TestDisnixNixOSConfiguration(t *testing.T) {
	env, outerState := StateEnv(t)
	root := t.TempDir()
	inner := filepath.Join(root, "inner-state")
	target := filepath.Join(root, "srv", "files")

	sys := filepath.Join(root, "nixos-system-machine")
	calls := filepath.Join(root, "switch.log")
	write(t, filepath.Join(sys, "bin", "switch-to-configuration"), "#!/bin/sh\necho \"$1\" >> '"+calls+"'\n", 0o755)
	write(t, filepath.Join(root, "containers", "fileset"), "type=fileset\n", 0o644)
	files := filepath.Join(root, "components", "fileset", "files")
	write(t, filepath.Join(files, ".dysnomia-targetdir"), target+"\n", 0o644)
	write(t, filepath.Join(files, ".dysnomia-fileset"), "mkdir data\n", 0o644)

	env = append(env,
		"DYSNOMIA_CONTAINERS_PATH="+filepath.Join(root, "containers"),
		"DYSNOMIA_COMPONENTS_PATH="+filepath.Join(root, "components"),
		"DYSNOMIA_NIXOS_STATEDIR="+inner,
		"disableNixOSSystemProfile=1", "testNixOS=1")
	innerEnv := append(append([]string{}, env...), "DYSNOMIA_STATEDIR="+inner)
	typ := "nixos-configuration"

	mustCall(t, env, typ, "activate", sys)
	if data, _ := os.ReadFile(calls); string(data) != "test\n" {
		t.Errorf("switch-to-configuration called with %q; want test", data)
	}
	if got := lines(MustRun(t, innerEnv, "dysnomia-containers", "--query-activated-components").Stdout); strings.Join(got, " ") != "fileset/files" {
		t.Fatalf("inner activated = %q; want fileset/files", got)
	}
	write(t, filepath.Join(target, "data", "a.txt"), "first\n", 0o644)

	mustCall(t, env, typ, "snapshot", sys)
	mustCall(t, env, typ, "snapshot", sys) // unchanged: no new generation
	outerEnv := append(append([]string{}, env...), "DYSNOMIA_STATEDIR="+outerState)
	gens := lines(MustRun(t, outerEnv, "dysnomia-snapshots", "--query-all").Stdout)
	if len(gens) != 1 || !strings.HasPrefix(gens[0], "nixos-configuration/nixos-system-machine/") {
		t.Fatalf("outer generations = %q; want one of nixos-configuration/nixos-system-machine", gens)
	}
	innerLatest := lines(MustRun(t, innerEnv, "dysnomia-snapshots", "--query-latest").Stdout)
	if len(innerLatest) != 1 {
		t.Fatalf("inner latest = %q", innerLatest)
	}
	copied := filepath.Join(outerState, "snapshots", gens[0], innerLatest[0])
	if _, err := os.Stat(copied); err != nil {
		t.Fatalf("the outer snapshot lacks the inner one: %v", err)
	}

	// The inner store loses its snapshots; the outer one brings them back.
	MustRun(t, innerEnv, "dysnomia-snapshots", "--gc", "--keep", "0")
	if err := os.Remove(filepath.Join(target, "data", "a.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(target, "data", "b.txt"), "later\n", 0o644)
	mustCall(t, env, typ, "restore", sys)
	if data, err := os.ReadFile(filepath.Join(target, "data", "a.txt")); err != nil || string(data) != "first\n" {
		t.Fatalf("after restore a.txt = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(target, "data", "b.txt")); !os.IsNotExist(err) {
		t.Errorf("b.txt survived the restore: %v", err)
	}
	if got := lines(MustRun(t, innerEnv, "dysnomia-snapshots", "--query-latest").Stdout); strings.Join(got, " ") != innerLatest[0] {
		t.Errorf("inner latest after restore = %q; want %q", got, innerLatest)
	}
	mustCall(t, env, typ, "collect-garbage", sys)
	mustCall(t, env, typ, "deactivate", sys) // without the profile: nothing to roll back
}
