package nix

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFlakeLock checks flake.lock by hand-written rules: lock file version
// 7, one input, nixpkgs locked to a GitHub revision with its NAR hash, and
// its "original" equal to the URL flake.nix asks for (else Nix would
// re-lock, which needs the network). When the shared pin is beside the
// repository (../shared/nix/nixpkgs-pin.json, as in CI and the workspace),
// the lock must hold exactly its values.
func TestFlakeLock(t *testing.T) {
	type node struct {
		Inputs   map[string]string `json:"inputs,omitempty"`
		Locked   map[string]any    `json:"locked,omitempty"`
		Original map[string]any    `json:"original,omitempty"`
	}
	var lock struct {
		Nodes   map[string]node `json:"nodes"`
		Root    string          `json:"root"`
		Version int             `json:"version"`
	}
	dec := json.NewDecoder(bytes.NewReader(readFile(t, "flake.lock")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lock); err != nil {
		t.Fatalf("flake.lock: %v", err)
	}
	if lock.Version != 7 || lock.Root != "root" {
		t.Errorf("flake.lock: version %d, root %q; want 7, \"root\"", lock.Version, lock.Root)
	}
	if diff := cmp.Diff(map[string]string{"nixpkgs": "nixpkgs"}, lock.Nodes["root"].Inputs); diff != "" {
		t.Errorf("root inputs (-want +got):\n%s", diff)
	}
	if len(lock.Nodes) != 2 {
		t.Errorf("flake.lock has %d nodes, want root and nixpkgs", len(lock.Nodes))
	}
	locked := lock.Nodes["nixpkgs"].Locked
	for key, pattern := range map[string]string{
		"type":    `^github$`,
		"owner":   `^NixOS$`,
		"repo":    `^nixpkgs$`,
		"rev":     `^[0-9a-f]{40}$`,
		"narHash": `^sha256-[A-Za-z0-9+/]{43}=$`,
	} {
		v, _ := locked[key].(string)
		if !regexp.MustCompile(pattern).MatchString(v) {
			t.Errorf("nixpkgs.locked.%s = %q, want %s", key, v, pattern)
		}
	}
	if n, ok := locked["lastModified"].(float64); !ok || n < 1.5e9 {
		t.Errorf("nixpkgs.locked.lastModified = %v, want a Unix time", locked["lastModified"])
	}

	// "original" is the flake.nix URL, parsed.
	var url string
	if err := json.Unmarshal(evalJSON(t, "(import "+file("flake.nix")+").inputs.nixpkgs.url"), &url); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^github:([^/]+)/([^/]+)/([^/?]+)$`).FindStringSubmatch(url)
	if m == nil {
		t.Fatalf("flake.nix: inputs.nixpkgs.url = %q, want github:OWNER/REPO/REF", url)
	}
	wantOriginal := map[string]any{"type": "github", "owner": m[1], "repo": m[2], "ref": m[3]}
	if diff := cmp.Diff(wantOriginal, lock.Nodes["nixpkgs"].Original); diff != "" {
		t.Errorf("nixpkgs.original does not match flake.nix's %s (-want +got):\n%s", url, diff)
	}

	pinFile := filepath.Join(root, "..", "shared", "nix", "nixpkgs-pin.json")
	data, err := os.ReadFile(pinFile)
	if err != nil {
		t.Logf("no shared pin to compare with: %v", err)
		return
	}
	var pin map[string]any
	if err := json.Unmarshal(data, &pin); err != nil {
		t.Fatalf("%s: %v", pinFile, err)
	}
	for _, key := range []string{"owner", "repo", "rev", "narHash", "lastModified"} {
		if !cmp.Equal(pin[key], locked[key]) {
			t.Errorf("nixpkgs.locked.%s = %v, the shared pin says %v", key, locked[key], pin[key])
		}
	}
	if pin["ref"] != lock.Nodes["nixpkgs"].Original["ref"] {
		t.Errorf("nixpkgs.original.ref = %v, the shared pin says %v", lock.Nodes["nixpkgs"].Original["ref"], pin["ref"])
	}
}

// TestFlakeOutputs evaluates flake.nix's outputs against a stand-in for
// nixpkgs (testdata/stub-nixpkgs.nix) and checks their shape: which outputs
// exist for which systems, which file builds the package, what the NixOS
// module imports and which package it defaults to, and which VM tests the
// checks run. Building them needs real nixpkgs (`nix flake check`).
func TestFlakeOutputs(t *testing.T) {
	got := decodeJSON(t, "flake shape", evalJSON(t,
		"import "+file("tests/nix/testdata/flake-shape.nix")+" { root = "+nixString(root)+"; }"))
	perSystem := func(names ...any) map[string]any {
		return map[string]any{"x86_64-linux": names, "aarch64-linux": names}
	}
	test := func(name, title string) map[string]any {
		return map[string]any{"imports": []any{"tests/nixos/" + name + ".nix"}, "defaults": []any{"lambda"}, "name": title}
	}
	want := map[string]any{
		"inputs":       map[string]any{"nixpkgs": map[string]any{"url": "github:NixOS/nixpkgs/nixpkgs-unstable"}},
		"outputs":      []any{"checks", "devShells", "nixosModules", "overlays", "packages"},
		"packages":     perSystem("default", "dysnomia"),
		"checks":       perSystem("docker-container", "mariadb", "mariadb-upgrade", "nixos-configuration", "package", "postgresql", "postgresql-upgrade", "server-removal", "systemd-unit", "transfer"),
		"devShells":    perSystem("default"),
		"nixosModules": []any{"default", "dysnomia"},
		"package": map[string]any{
			"file":        "nix/package.nix",
			"version":     "0.1.0-dev+0123abc",
			"sameAsCheck": true,
		},
		"overlay": "aarch64-linux",
		"module": map[string]any{
			"imports":         []any{"nixos-module"},
			"packagePriority": float64(1000), // lib.mkDefault
			"packageSystem":   "x86_64-linux",
		},
		"tests": map[string]any{
			"postgresql":          test("postgresql", "dysnomia-postgresql"),
			"postgresql-upgrade":  test("postgresql-upgrade", "dysnomia-postgresql-upgrade"),
			"mariadb":             test("mariadb", "dysnomia-mariadb"),
			"mariadb-upgrade":     test("mariadb-upgrade", "dysnomia-mariadb-upgrade"),
			"server-removal":      test("server-removal", "dysnomia-server-removal"),
			"transfer":            test("transfer", "dysnomia-transfer"),
			"systemd-unit":        test("systemd-unit", "dysnomia-systemd-unit"),
			"docker-container":    test("docker-container", "dysnomia-docker-container"),
			"nixos-configuration": test("nixos-configuration", "dysnomia-nixos-configuration"),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flake outputs (-want +got):\n%s", diff)
	}
}
