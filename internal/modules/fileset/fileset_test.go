package fileset

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// fixture is a fileset component with a program in bin/, linked into the
// target directory, and a mutable directory "files".
type fixture struct {
	comp, target string
	st           *store.Store
}

func newFixture(t *testing.T, directives string) *fixture {
	t.Helper()
	root := t.TempDir()
	comp := filepath.Join(root, "component", "fileset")
	target := filepath.Join(root, "srv", "fileset")
	must(t, os.MkdirAll(filepath.Join(comp, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(comp, "bin", "showfiles"), []byte("#!/bin/sh\nls \"$@\"\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(comp, ".dysnomia-targetdir"), []byte(target+"\n"), 0o644))
	if directives == "" {
		directives = "symlink " + filepath.Join(comp, "bin") + "\ntarget .\nmkdir files\n"
	}
	must(t, os.WriteFile(filepath.Join(comp, ".dysnomia-fileset"), []byte(directives), 0o644))
	return &fixture{comp: comp, target: target, st: store.Open(filepath.Join(root, "state"))}
}

func (f *fixture) run(t *testing.T, act module.Activity) error {
	t.Helper()
	var out bytes.Buffer
	req := &module.Request{
		Activity:  act,
		Component: module.Component{Name: "fileset", Path: f.comp},
		Container: module.Container{Name: "fileset", Arg: "fileset", Type: "fileset", Properties: config.Properties{}},
		Store:     f.st,
		Stdout:    &out,
		Stderr:    &out,
		Report:    ui.Discard,
	}
	return Module{}.Run(context.Background(), req)
}

func (f *fixture) mustRun(t *testing.T, acts ...module.Activity) {
	t.Helper()
	for _, a := range acts {
		if err := f.run(t, a); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
}

func (f *fixture) key() store.Key { return store.Key{Container: "fileset", Component: "fileset"} }

func (f *fixture) generations(t *testing.T) int {
	t.Helper()
	gens, err := f.st.Generations(f.key())
	must(t, err)
	return len(gens)
}

// latestEntries lists the entries of the latest snapshot's tar.
func (f *fixture) latestEntries(t *testing.T) []string {
	t.Helper()
	sn, ok, err := f.st.Latest(f.key())
	if err != nil || !ok {
		t.Fatalf("latest: %v %v", ok, err)
	}
	p, err := f.st.Read(context.Background(), sn)
	must(t, err)
	r, err := p.Open(payloadName)
	must(t, err)
	defer r.Close()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		names = append(names, h.Name)
	}
	return names
}

// TestUpstreamScenario follows upstream's fileset acceptance test.
func TestUpstreamScenario(t *testing.T) {
	f := newFixture(t, "")
	show := filepath.Join(f.target, "bin", "showfiles")
	runnable := func() bool { return exec.Command(show).Run() == nil }

	f.mustRun(t, module.Activate)
	if !runnable() {
		t.Fatal("showfiles not runnable after activate")
	}
	f.mustRun(t, module.Activate)
	if !runnable() {
		t.Fatal("showfiles not runnable after a second activate")
	}
	f.mustRun(t, module.Deactivate)
	if runnable() {
		t.Fatal("showfiles still there after deactivate")
	}
	f.mustRun(t, module.Activate)

	files := filepath.Join(f.target, "files")
	must(t, os.WriteFile(filepath.Join(files, "hello"), []byte("hello"), 0o644))
	must(t, os.WriteFile(filepath.Join(files, "bye"), []byte("bye"), 0o644))
	f.mustRun(t, module.Snapshot)
	if n := f.generations(t); n != 1 {
		t.Fatalf("generations after first snapshot = %d, want 1", n)
	}
	if diff := cmp.Diff([]string{"files/", "files/bye", "files/hello"}, f.latestEntries(t)); diff != "" {
		t.Errorf("snapshot entries (-want +got):\n%s", diff)
	}
	f.mustRun(t, module.Snapshot)
	if n := f.generations(t); n != 1 {
		t.Fatalf("generations after unchanged snapshot = %d, want 1", n)
	}
	must(t, os.WriteFile(filepath.Join(files, "world"), []byte("world"), 0o644))
	f.mustRun(t, module.Snapshot)
	if n := f.generations(t); n != 2 {
		t.Fatalf("generations after a change = %d, want 2", n)
	}
	if got := len(f.latestEntries(t)); got != 4 {
		t.Errorf("latest snapshot has %d entries, want 4", got)
	}

	f.mustRun(t, module.CollectGarbage)
	if _, err := os.Stat(filepath.Join(files, "world")); err != nil {
		t.Fatal("collect-garbage while active deleted state")
	}
	f.mustRun(t, module.Deactivate, module.Deactivate)
	if runnable() {
		t.Fatal("showfiles still there after deactivate")
	}
	f.mustRun(t, module.CollectGarbage)
	if _, err := os.Stat(files); !os.IsNotExist(err) {
		t.Fatalf("files dir after collect-garbage: %v, want gone", err)
	}
	f.mustRun(t, module.Activate, module.Restore)
	for _, name := range []string{"hello", "bye", "world"} {
		if _, err := os.Stat(filepath.Join(files, name)); err != nil {
			t.Errorf("after restore: %v", err)
		}
	}
}

func TestRestoreReplacesStateExactly(t *testing.T) {
	f := newFixture(t, "mkdir files\nmkdir files/sub\nmkdir cache\n")
	f.mustRun(t, module.Activate)
	must(t, os.WriteFile(filepath.Join(f.target, "files", "a"), []byte("a1"), 0o644))
	must(t, os.WriteFile(filepath.Join(f.target, "files", "sub", "b"), []byte("b1"), 0o644))
	f.mustRun(t, module.Snapshot)

	must(t, os.WriteFile(filepath.Join(f.target, "files", "a"), []byte("a2"), 0o644))
	must(t, os.WriteFile(filepath.Join(f.target, "files", "new"), []byte("new"), 0o644))
	must(t, os.WriteFile(filepath.Join(f.target, "cache", "c"), []byte("c"), 0o644))
	f.mustRun(t, module.Restore)

	want := map[string]string{"files/a": "a1", "files/sub/b": "b1"}
	if diff := cmp.Diff(want, tree(t, f.target)); diff != "" {
		t.Errorf("state after restore (-want +got):\n%s", diff)
	}
}

func TestCorruptSnapshotIsRefusedAndStateKept(t *testing.T) {
	f := newFixture(t, "mkdir files\n")
	f.mustRun(t, module.Activate)
	must(t, os.WriteFile(filepath.Join(f.target, "files", "a"), []byte("original"), 0o644))
	f.mustRun(t, module.Snapshot)
	must(t, os.WriteFile(filepath.Join(f.target, "files", "a"), []byte("current"), 0o644))

	sn, _, err := f.st.Latest(f.key())
	must(t, err)
	payload := filepath.Join(f.st.SnapshotDir(sn), payloadName+".zst")
	data, err := os.ReadFile(payload)
	must(t, err)
	data[len(data)/2] ^= 0xff
	must(t, os.WriteFile(payload, data, 0o644))

	err = f.run(t, module.Restore)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("restore of a corrupt snapshot: err = %v, want a checksum mismatch", err)
	}
	if diff := cmp.Diff(map[string]string{"files/a": "current"}, tree(t, f.target)); diff != "" {
		t.Errorf("state changed by a refused restore (-want +got):\n%s", diff)
	}
}

func TestBadDirectivesChangeNothing(t *testing.T) {
	tests := []struct {
		name, directives, wantErr string
	}{
		{"unknown", "mkdir files\nfrobnicate x\n", `:2: unknown directive "frobnicate"`},
		{"escape", "mkdir ../outside\n", `leaves the target directory`},
		{"absolute", "mkdir /etc\n", `leaves the target directory`},
		{"dangling symlink", "symlink /bin\n", `has no target line`},
		{"target first", "target .\n", `target without a preceding symlink`},
		{"missing path", "mkdir\n", `needs a path`},
		{"dot", "mkdir .\n", `whole target directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.directives)
			err := f.run(t, module.Activate)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if _, err := os.Stat(f.target); !os.IsNotExist(err) {
				t.Errorf("target dir was created despite the error")
			}
			if active, _ := f.st.IsActive(f.key()); active {
				t.Errorf("component marked active despite the error")
			}
		})
	}
}

func TestCommentsAndBlankLines(t *testing.T) {
	f := newFixture(t, "# state\n\nmkdir files\n   \n")
	f.mustRun(t, module.Activate)
	if fi, err := os.Stat(filepath.Join(f.target, "files")); err != nil || !fi.IsDir() {
		t.Fatalf("files dir: %v", err)
	}
}

func TestUpstreamXZSnapshotRestores(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xz not installed")
		}
		t.Skip("xz not installed")
	}
	f := newFixture(t, "mkdir files\n")
	f.mustRun(t, module.Activate)
	// An upstream snapshot: state.tar.xz made by tar and xz, with upstream's
	// hex checksum of the directory.
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "files"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "files", "legacy"), []byte("from upstream"), 0o644))
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	snapDir := filepath.Join(f.st.Dir(), "snapshots", "fileset", "fileset", id)
	must(t, os.MkdirAll(snapDir, 0o755))
	cmd := exec.Command("sh", "-c", "tar cf - files | xz > "+filepath.Join(snapDir, "state.tar.xz"))
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar | xz: %v\n%s", err, out)
	}
	must(t, os.MkdirAll(filepath.Join(f.st.Dir(), "generations", "fileset", "fileset"), 0o755))
	must(t, os.Symlink("../../../snapshots/fileset/fileset/"+id, filepath.Join(f.st.Dir(), "generations", "fileset", "fileset", "1")))

	f.mustRun(t, module.Restore)
	if diff := cmp.Diff(map[string]string{"files/legacy": "from upstream"}, tree(t, f.target)); diff != "" {
		t.Errorf("state after restoring an upstream snapshot (-want +got):\n%s", diff)
	}
}

func TestExtractRejectsEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []tar.Header
		wantErr string
	}{
		{"dotdot", []tar.Header{{Name: "files/../../etc/x", Typeflag: tar.TypeReg}}, "outside"},
		{"absolute", []tar.Header{{Name: "/etc/x", Typeflag: tar.TypeReg}}, "outside"},
		{"other dir", []tar.Header{{Name: "cache/x", Typeflag: tar.TypeReg}}, "outside"},
		{"through symlink", []tar.Header{
			{Name: "files/link", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
			{Name: "files/link/x", Typeflag: tar.TypeReg},
		}, "goes through the symlink"},
		{"device", []tar.Header{{Name: "files/dev", Typeflag: tar.TypeChar}}, "unsupported type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range tt.entries {
				h.Mode = 0o644
				must(t, tw.WriteHeader(&h))
			}
			must(t, tw.Close())
			dest := t.TempDir()
			err := extractTar(&buf, dest, []string{"files"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRoots(t *testing.T) {
	got := roots([]string{"files/sub", "cache", "files", "filesystem"})
	if diff := cmp.Diff([]string{"cache", "files", "filesystem"}, got); diff != "" {
		t.Errorf("roots (-want +got):\n%s", diff)
	}
}

// tree maps every regular file below root (relative, slash-separated) to its
// content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	must(t, err)
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
