package nix

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestEveryNixFileParses runs nix-instantiate --parse on every .nix file
// in the repository (Nix also reports undefined variables at parse time).
func TestEveryNixFileParses(t *testing.T) {
	need(t, "nix-instantiate")
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && filepath.Ext(path) == ".nix" {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	// The walk must have found the files this project is made of.
	for _, want := range []string{
		"flake.nix", "nix/package.nix",
		"nixos-module/default.nix", "nixos-module/config-json.nix", "nixos-module/checks.nix",
		"nixos-module/types.nix", "nixos-module/upstream-files.nix",
		"tests/nixos/default.nix", "tests/nixos/postgresql.nix", "tests/nixos/postgresql-upgrade.nix",
		"tests/nixos/mariadb.nix", "tests/nixos/transfer.nix",
	} {
		if i := sort.SearchStrings(files, want); i == len(files) || files[i] != want {
			t.Errorf("%s: missing", want)
		}
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			if _, err := tryInstantiate(t, "--parse", file(rel)); err != nil {
				t.Errorf("%s does not parse: %v", rel, err)
			}
		})
	}
	if _, err := os.Stat(file("flake.lock")); err != nil {
		t.Errorf("flake.lock: %v", err)
	}
}
