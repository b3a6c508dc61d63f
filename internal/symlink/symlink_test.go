package symlink

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func target(t *testing.T, link string) string {
	t.Helper()
	got, err := os.Readlink(link)
	must(t, err)
	return got
}

func TestSetRestore(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "app")
	prev, err := Set(link, "/c1/webapps/app")
	if err != nil || prev != "" {
		t.Fatalf("Set new: %q, %v", prev, err)
	}
	prev, err = Set(link, "/c2/webapps/app")
	if err != nil || prev != "/c1/webapps/app" || target(t, link) != "/c2/webapps/app" {
		t.Fatalf("Set over a link: %q, %v", prev, err)
	}
	must(t, Restore(link, "/c2/webapps/app", prev))
	if got := target(t, link); got != "/c1/webapps/app" {
		t.Errorf("restored to %q", got)
	}
	must(t, Restore(link, "/c1/webapps/app", ""))
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("Restore to nothing left %v", err)
	}
	// A real file or directory is never replaced.
	must(t, os.Mkdir(link, 0o755))
	if _, err := Set(link, "/c1/webapps/app"); err == nil {
		t.Error("Set replaced a directory")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left a temporary link: %v", entries)
	}
}

func TestRemoveInto(t *testing.T) {
	dir := t.TempDir()
	comp := "/nix/store/aaaa-web"
	must(t, os.Symlink(comp+"/webapps/a", filepath.Join(dir, "a")))
	must(t, os.Symlink("/nix/store/aaaa-web-2/webapps/b", filepath.Join(dir, "b"))) // a prefix, another path
	must(t, os.Symlink("/nix/store/bbbb-web/webapps/c", filepath.Join(dir, "c")))
	must(t, os.Symlink(comp, filepath.Join(dir, "whole"))) // the component itself is not inside it
	must(t, os.WriteFile(filepath.Join(dir, "d"), nil, 0o644))
	removed, err := RemoveInto(dir, comp)
	must(t, err)
	if d := cmp.Diff([]string{"a"}, removed); d != "" {
		t.Errorf("removed (-want +got):\n%s", d)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if d := cmp.Diff([]string{"b", "c", "d", "whole"}, left); d != "" {
		t.Errorf("left (-want +got):\n%s", d)
	}
	if removed, err := RemoveInto(filepath.Join(dir, "missing"), comp); err != nil || removed != nil {
		t.Errorf("missing dir: %v, %v", removed, err)
	}
}
