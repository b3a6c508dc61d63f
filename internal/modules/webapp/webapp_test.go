package webapp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, body string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(body), 0o644))
}

// machine is a document root, a state directory and components in a
// temporary directory.
type machine struct {
	root, docRoot string
	st            *store.Store
	out           bytes.Buffer
}

func newMachine(t *testing.T) *machine {
	root := t.TempDir()
	return &machine{root: root, docRoot: filepath.Join(root, "srv", "www"), st: store.Open(filepath.Join(root, "state"))}
}

// component makes a component directory <root>/pkgs/<name> with files.
func (m *machine) component(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	p := filepath.Join(m.root, "pkgs", name)
	must(t, os.MkdirAll(p, 0o755))
	for rel, body := range files {
		write(t, filepath.Join(p, rel), body)
	}
	return p
}

func (m *machine) run(t *testing.T, mod Module, act module.Activity, comp string, props ...string) error {
	t.Helper()
	var ps config.Properties
	ps.Set(config.Property{Key: "documentRoot", Values: []string{m.docRoot}})
	for _, kv := range props {
		k, v, _ := strings.Cut(kv, "=")
		ps.Set(config.Property{Key: k, Values: []string{v}})
	}
	req := &module.Request{
		Activity:  act,
		Component: module.Component{Name: filepath.Base(comp), Path: comp},
		Container: module.Container{Name: mod.Name, Arg: mod.Name, Type: mod.Name, Properties: ps},
		Store:     m.st,
		Stdout:    &m.out,
		Stderr:    &m.out,
		Report:    ui.Discard,
	}
	return mod.Run(context.Background(), req)
}

func (m *machine) mustRun(t *testing.T, mod Module, comp string, acts ...module.Activity) {
	t.Helper()
	for _, a := range acts {
		if err := m.run(t, mod, a, comp); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
}

// tree describes the document root: links as "-> target", directories as
// "/", files by their content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return out
	}
	must(t, err)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			must(t, err)
			out[e.Name()] = "-> " + target
		case e.IsDir():
			out[e.Name()] = "/"
		default:
			data, err := os.ReadFile(p)
			must(t, err)
			out[e.Name()] = string(data)
		}
	}
	return out
}

func (m *machine) active(t *testing.T, mod Module, comp string) bool {
	t.Helper()
	ok, err := m.st.IsActive(store.Key{Container: mod.Name, Component: filepath.Base(comp)})
	must(t, err)
	return ok
}

// TestLinks: activate links every webapps/ entry (the directory itself may
// be a symlink), twice is the same, deactivate removes only this
// component's links, twice is the same; the markers are stateless.
func TestLinks(t *testing.T) {
	for _, mod := range []Module{Generic, Apache, Nginx} {
		t.Run(mod.Name, func(t *testing.T) {
			m := newMachine(t)
			shared := m.component(t, "shared", map[string]string{"webapps/index.html": "hello", "webapps/app/app.php": "<?php"})
			comp := m.component(t, "site", nil)
			must(t, os.Symlink(filepath.Join(shared, "webapps"), filepath.Join(comp, "webapps")))
			// Someone else's link and a file of the web server's own.
			write(t, filepath.Join(m.docRoot, "robots.txt"), "static")
			must(t, os.Symlink("/elsewhere/x", filepath.Join(m.docRoot, "x")))

			want := map[string]string{
				"index.html": "-> " + filepath.Join(comp, "webapps", "index.html"),
				"app":        "-> " + filepath.Join(comp, "webapps", "app"),
				"robots.txt": "static",
				"x":          "-> /elsewhere/x",
			}
			for i := 0; i < 2; i++ {
				m.mustRun(t, mod, comp, module.Activate)
				if d := cmp.Diff(want, tree(t, m.docRoot)); d != "" {
					t.Fatalf("activate %d (-want +got):\n%s", i+1, d)
				}
				if !m.active(t, mod, comp) {
					t.Fatalf("not marked active")
				}
			}
			if data, err := os.ReadFile(filepath.Join(m.docRoot, "app", "app.php")); err != nil || string(data) != "<?php" {
				t.Errorf("served file: %q, %v", data, err)
			}
			m.mustRun(t, mod, comp, module.Snapshot, module.Restore, module.CollectGarbage, module.Lock, module.Unlock)
			if d := cmp.Diff(want, tree(t, m.docRoot)); d != "" {
				t.Errorf("stateless activities changed the document root (-want +got):\n%s", d)
			}
			for i := 0; i < 2; i++ {
				m.mustRun(t, mod, comp, module.Deactivate)
				if d := cmp.Diff(map[string]string{"robots.txt": "static", "x": "-> /elsewhere/x"}, tree(t, m.docRoot)); d != "" {
					t.Fatalf("deactivate %d (-want +got):\n%s", i+1, d)
				}
			}
			if m.active(t, mod, comp) {
				t.Error("still marked active")
			}
			if g, _ := m.st.Garbage(); len(g) != 0 {
				t.Errorf("a stateless component left garbage: %v", g)
			}
		})
	}
}

// TestUpgrade: a new version replaces the old version's links; removing
// the old version afterwards leaves the new one's alone; a component that
// is gone is still deactivated (its links are found by their targets).
func TestUpgrade(t *testing.T) {
	m := newMachine(t)
	v1 := m.component(t, "aaaa-site", map[string]string{"webapps/index.html": "v1", "webapps/old.html": "old"})
	v2 := m.component(t, "bbbb-site", map[string]string{"webapps/index.html": "v2"})
	m.mustRun(t, Apache, v1, module.Activate)
	m.mustRun(t, Apache, v2, module.Activate)
	m.mustRun(t, Apache, v1, module.Deactivate)
	want := map[string]string{"index.html": "-> " + filepath.Join(v2, "webapps", "index.html")}
	if d := cmp.Diff(want, tree(t, m.docRoot)); d != "" {
		t.Errorf("after upgrade (-want +got):\n%s", d)
	}
	must(t, os.RemoveAll(v2))
	m.mustRun(t, Apache, v2, module.Deactivate)
	if d := cmp.Diff(map[string]string{}, tree(t, m.docRoot)); d != "" {
		t.Errorf("after deactivating a removed component (-want +got):\n%s", d)
	}
}

// TestConflictIsRolledBack: an entry that would replace a real file fails
// the activation, naming it, and the links it made are undone (a replaced
// link points at its old target again); nothing is marked.
func TestConflictIsRolledBack(t *testing.T) {
	m := newMachine(t)
	comp := m.component(t, "site", map[string]string{"webapps/a.html": "a", "webapps/b.html": "b", "webapps/c.html": "c"})
	must(t, os.MkdirAll(m.docRoot, 0o755))
	must(t, os.Symlink("/old/a.html", filepath.Join(m.docRoot, "a.html")))
	write(t, filepath.Join(m.docRoot, "c.html"), "the server's own")
	err := m.run(t, Generic, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(m.docRoot, "c.html")+" exists and is not a symlink") {
		t.Fatalf("activate: %v", err)
	}
	want := map[string]string{"a.html": "-> /old/a.html", "c.html": "the server's own"}
	if d := cmp.Diff(want, tree(t, m.docRoot)); d != "" {
		t.Errorf("after the failed activation (-want +got):\n%s", d)
	}
	if m.active(t, Generic, comp) {
		t.Error("marked active")
	}
}

// TestBadComponentOrContainer: errors name what is wrong and change nothing.
func TestBadComponentOrContainer(t *testing.T) {
	m := newMachine(t)
	comp := m.component(t, "empty", map[string]string{"README": "no webapps"})
	if err := m.run(t, Generic, module.Activate, comp); err == nil || !strings.Contains(err.Error(), "neither a .dysnomia-fileset file nor a webapps/ directory") {
		t.Errorf("component without webapps: %v", err)
	}
	if err := m.run(t, Generic, module.Activate, comp, "documentRoot=srv/www"); err == nil || !strings.Contains(err.Error(), `documentRoot="srv/www" is not an absolute path`) {
		t.Errorf("relative documentRoot: %v", err)
	}
	if _, err := os.Stat(m.docRoot); !os.IsNotExist(err) {
		t.Errorf("the document root was created: %v", err)
	}
}

// TestDefaultDocumentRoot: without the property the document root is
// /var/www (only the setting is checked here).
func TestDefaultDocumentRoot(t *testing.T) {
	req := &module.Request{Container: module.Container{Name: "c"}}
	if got, err := documentRoot(req); err != nil || got != "/var/www" {
		t.Errorf("documentRoot() = %q, %v", got, err)
	}
}

// TestFilesetDelegation: a component with .dysnomia-fileset is the fileset
// module's, with the document root as its target directory (overriding
// its own .dysnomia-targetdir) and this container's name: snapshot,
// restore and collect-garbage act on its mutable directories.
func TestFilesetDelegation(t *testing.T) {
	m := newMachine(t)
	comp := m.component(t, "cms", map[string]string{
		"app/index.php":       "<?php echo 1;",
		".dysnomia-targetdir": "/nonexistent/elsewhere\n",
	})
	write(t, filepath.Join(comp, ".dysnomia-fileset"), "symlink "+filepath.Join(comp, "app")+"\ntarget .\nmkdir uploads\n")
	k := store.Key{Container: Apache.Name, Component: "cms"}

	m.mustRun(t, Apache, comp, module.Activate, module.Activate)
	want := map[string]string{"app": "-> " + filepath.Join(comp, "app"), "uploads": "/"}
	if d := cmp.Diff(want, tree(t, m.docRoot)); d != "" {
		t.Fatalf("after activate (-want +got):\n%s", d)
	}
	uploads := filepath.Join(m.docRoot, "uploads")
	write(t, filepath.Join(uploads, "photo.jpg"), "v1")
	m.mustRun(t, Apache, comp, module.Snapshot)
	gens, err := m.st.Generations(k)
	must(t, err)
	if len(gens) != 1 {
		t.Fatalf("generations of %s: %v", k, gens)
	}
	rep, err := m.st.Check(context.Background(), store.Selection{}, nil)
	if err != nil || rep.Err() != nil || rep.Checked != 1 {
		t.Errorf("store check: %+v, %v", rep, err)
	}

	write(t, filepath.Join(uploads, "photo.jpg"), "v2")
	write(t, filepath.Join(uploads, "new.jpg"), "new")
	m.mustRun(t, Apache, comp, module.Restore)
	if d := cmp.Diff(map[string]string{"photo.jpg": "v1"}, tree(t, uploads)); d != "" {
		t.Errorf("after restore (-want +got):\n%s", d)
	}

	m.mustRun(t, Apache, comp, module.CollectGarbage) // active: keeps the state
	if _, err := os.Stat(filepath.Join(uploads, "photo.jpg")); err != nil {
		t.Fatalf("collect-garbage of an active component: %v", err)
	}
	m.mustRun(t, Apache, comp, module.Deactivate, module.Deactivate)
	if d := cmp.Diff(map[string]string{"uploads": "/"}, tree(t, m.docRoot)); d != "" {
		t.Errorf("after deactivate (-want +got):\n%s", d)
	}
	if g, _ := m.st.IsGarbage(k); !g {
		t.Error("not marked as garbage")
	}
	m.mustRun(t, Apache, comp, module.CollectGarbage)
	if _, err := os.Stat(uploads); !os.IsNotExist(err) {
		t.Errorf("uploads after collect-garbage: %v", err)
	}
	if _, err := os.Stat("/nonexistent/elsewhere"); !os.IsNotExist(err) {
		t.Error("the component's own target directory was used")
	}
}

// TestShell: the session's variables and help.
func TestShell(t *testing.T) {
	m := newMachine(t)
	comp := m.component(t, "site", map[string]string{"webapps/index.html": "x"})
	req := &module.Request{
		Component: module.Component{Name: "site", Path: comp},
		Container: module.Container{Name: "nginx-webapplication", Properties: config.Properties{{Key: "documentRoot", Values: []string{m.docRoot}}}},
	}
	env, err := Nginx.ShellEnv(req)
	if err != nil || !cmp.Equal(env, []string{"documentRoot=" + m.docRoot}) {
		t.Errorf("ShellEnv = %q, %v", env, err)
	}
	must(t, m.run(t, Nginx, module.Shell, comp))
	if !strings.Contains(m.out.String(), "Nginx web application site") {
		t.Errorf("shell help: %q", m.out.String())
	}
}
