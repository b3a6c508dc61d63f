package tomcat

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// server is a Tomcat base directory, a state directory and components.
type server struct {
	root, base string
	st         *store.Store
	out        bytes.Buffer
}

func newServer(t *testing.T) *server {
	root := t.TempDir()
	return &server{root: root, base: filepath.Join(root, "tomcat"), st: store.Open(filepath.Join(root, "state"))}
}

func (s *server) component(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	p := filepath.Join(s.root, "pkgs", name)
	must(t, os.MkdirAll(p, 0o755))
	for rel, body := range files {
		write(t, filepath.Join(p, rel), body)
	}
	return p
}

func (s *server) run(t *testing.T, m Module, act module.Activity, comp string, props ...string) error {
	t.Helper()
	var ps config.Properties
	ps.Set(config.Property{Key: "catalinaBaseDir", Values: []string{s.base}})
	for _, kv := range props {
		k, v, _ := strings.Cut(kv, "=")
		ps.Set(config.Property{Key: k, Values: []string{v}})
	}
	req := &module.Request{
		Activity:  act,
		Component: module.Component{Name: filepath.Base(comp), Path: comp},
		Container: module.Container{Name: m.Name(), Arg: m.Name(), Type: m.Name(), Properties: ps},
		Store:     s.st,
		Stdout:    &s.out,
		Stderr:    &s.out,
		Report:    ui.Discard,
	}
	return m.Run(context.Background(), req)
}

func (s *server) mustRun(t *testing.T, m Module, comp string, acts ...module.Activity) {
	t.Helper()
	for _, a := range acts {
		if err := s.run(t, m, a, comp); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
}

// links lists the symlinks below dir (relative path -> target) and the
// other entries (relative path -> "").
func links(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			must(t, err)
			out[rel] = target
			return nil
		}
		if !d.IsDir() {
			out[rel] = ""
		}
		return nil
	})
	return out
}

func (s *server) active(t *testing.T, m Module, comp string) bool {
	t.Helper()
	ok, err := s.st.IsActive(store.Key{Container: m.Name(), Component: filepath.Base(comp)})
	must(t, err)
	return ok
}

// TestWebApplication: every *.war below webapps/ (however deep) goes into
// <catalinaBaseDir>/webapps, conf/Catalina/* into conf/Catalina/localhost;
// activate twice is the same; deactivate removes only the component's links
// (Tomcat's unpacked application and other links stay), twice too.
func TestWebApplication(t *testing.T) {
	s := newServer(t)
	comp := s.component(t, "shop", map[string]string{
		"webapps/shop.war":          "war",
		"webapps/admin/admin.war":   "war",
		"webapps/README":            "not an archive",
		"conf/Catalina/shop.xml":    "<Context/>",
		"conf/Catalina/extra.props": "k=v",
	})
	must(t, os.MkdirAll(filepath.Join(s.base, "webapps", "shop"), 0o755)) // Tomcat unpacked it
	write(t, filepath.Join(s.base, "webapps", "shop", "index.jsp"), "jsp")
	must(t, os.Symlink("/other/app.war", filepath.Join(s.base, "webapps", "app.war")))

	want := map[string]string{
		"webapps/shop.war":                    filepath.Join(comp, "webapps", "shop.war"),
		"webapps/admin.war":                   filepath.Join(comp, "webapps", "admin", "admin.war"),
		"webapps/app.war":                     "/other/app.war",
		"webapps/shop/index.jsp":              "",
		"conf/Catalina/localhost/shop.xml":    filepath.Join(comp, "conf", "Catalina", "shop.xml"),
		"conf/Catalina/localhost/extra.props": filepath.Join(comp, "conf", "Catalina", "extra.props"),
	}
	for i := 0; i < 2; i++ {
		s.mustRun(t, WebApplication, comp, module.Activate)
		if d := cmp.Diff(want, links(t, s.base)); d != "" {
			t.Fatalf("activate %d (-want +got):\n%s", i+1, d)
		}
	}
	if !s.active(t, WebApplication, comp) {
		t.Error("not marked active")
	}
	s.mustRun(t, WebApplication, comp, module.Snapshot, module.Restore, module.CollectGarbage, module.Lock, module.Unlock)
	if d := cmp.Diff(want, links(t, s.base)); d != "" {
		t.Errorf("stateless activities changed something (-want +got):\n%s", d)
	}
	rest := map[string]string{"webapps/app.war": "/other/app.war", "webapps/shop/index.jsp": ""}
	for i := 0; i < 2; i++ {
		s.mustRun(t, WebApplication, comp, module.Deactivate)
		if d := cmp.Diff(rest, links(t, s.base)); d != "" {
			t.Fatalf("deactivate %d (-want +got):\n%s", i+1, d)
		}
	}
	if s.active(t, WebApplication, comp) {
		t.Error("still marked active")
	}
}

// TestAxis2Service: *.aar below webapps/axis2/WEB-INF/services go into
// axis2BaseDir, by default Axis2's directory under catalinaBaseDir.
func TestAxis2Service(t *testing.T) {
	s := newServer(t)
	comp := s.component(t, "calc", map[string]string{
		"webapps/axis2/WEB-INF/services/Calc.aar": "aar",
		"webapps/other.war":                       "not for axis2",
	})
	services := filepath.Join(s.base, "webapps", "axis2", "WEB-INF", "services")
	must(t, os.MkdirAll(services, 0o755))
	s.mustRun(t, Axis2Service, comp, module.Activate)
	want := map[string]string{"Calc.aar": filepath.Join(comp, "webapps", "axis2", "WEB-INF", "services", "Calc.aar")}
	if d := cmp.Diff(want, links(t, services)); d != "" {
		t.Errorf("activate (-want +got):\n%s", d)
	}
	s.mustRun(t, Axis2Service, comp, module.Deactivate)
	if d := cmp.Diff(map[string]string{}, links(t, services)); d != "" {
		t.Errorf("deactivate (-want +got):\n%s", d)
	}

	// An explicit axis2BaseDir.
	own := filepath.Join(s.root, "axis2", "services")
	must(t, os.MkdirAll(own, 0o755))
	must(t, s.run(t, Axis2Service, module.Activate, comp, "axis2BaseDir="+own))
	if d := cmp.Diff(map[string]string{"Calc.aar": want["Calc.aar"]}, links(t, own)); d != "" {
		t.Errorf("axis2BaseDir (-want +got):\n%s", d)
	}
}

// TestWaitForDeployDirectory: activation waits for the deployment
// directory for timeout seconds: exactly that long when it never comes
// (upstream gave up a second early), until it appears otherwise; something
// that is not a directory fails at once.
func TestWaitForDeployDirectory(t *testing.T) {
	s := newServer(t)
	comp := s.component(t, "shop", map[string]string{"webapps/shop.war": "war"})
	deploy := filepath.Join(s.base, "webapps")

	start := time.Now()
	err := s.run(t, WebApplication, module.Activate, comp, "timeout=2")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), deploy+" did not appear within 2s") {
		t.Fatalf("missing directory: %v", err)
	}
	if took < 2*time.Second || took > 3500*time.Millisecond {
		t.Errorf("gave up after %s, want 2s", took)
	}
	if _, err := os.Stat(s.base); !os.IsNotExist(err) {
		t.Errorf("the failed activation created %s: %v", s.base, err)
	}

	go func() {
		time.Sleep(1200 * time.Millisecond)
		os.MkdirAll(deploy, 0o755)
	}()
	start = time.Now()
	must(t, s.run(t, WebApplication, module.Activate, comp, "timeout=5"))
	if took := time.Since(start); took < time.Second || took > 4*time.Second {
		t.Errorf("activation with a late directory took %s", took)
	}
	if _, err := os.Readlink(filepath.Join(deploy, "shop.war")); err != nil {
		t.Errorf("not linked after the wait: %v", err)
	}

	other := newServer(t)
	write(t, filepath.Join(other.base, "webapps"), "a file")
	start = time.Now()
	err = other.run(t, WebApplication, module.Activate, comp, "timeout=10")
	if err == nil || !strings.Contains(err.Error(), "exists but is not a directory") || time.Since(start) > time.Second {
		t.Errorf("deployment path is a file: %v after %s", err, time.Since(start))
	}
}

// TestErrorsChangeNothing: bad properties, two archives with one name, and
// a file in the way are errors naming the cause; nothing is left linked.
func TestErrorsChangeNothing(t *testing.T) {
	s := newServer(t)
	deploy := filepath.Join(s.base, "webapps")
	must(t, os.MkdirAll(deploy, 0o755))
	comp := s.component(t, "shop", map[string]string{"webapps/a.war": "a", "webapps/b.war": "b", "conf/Catalina/shop.xml": "x"})
	for _, tc := range []struct{ prop, want string }{
		{"timeout=soon", `property timeout="soon": want a whole number of seconds`},
		{"timeout=-1", `property timeout="-1"`},
		{"catalinaBaseDir=tomcat", `property catalinaBaseDir="tomcat": want an absolute path`},
	} {
		if err := s.run(t, WebApplication, module.Activate, comp, tc.prop); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.prop, err)
		}
	}
	dup := s.component(t, "dup", map[string]string{"webapps/x/app.war": "1", "webapps/y/app.war": "2"})
	if err := s.run(t, WebApplication, module.Activate, dup); err == nil || !strings.Contains(err.Error(), "would both be deployed as app.war") {
		t.Errorf("duplicate names: %v", err)
	}
	// A real file where a link goes: the links made before it are undone,
	// an earlier version's link is pointed back.
	must(t, os.Symlink("/old/a.war", filepath.Join(deploy, "a.war")))
	write(t, filepath.Join(deploy, "b.war"), "someone's own")
	err := s.run(t, WebApplication, module.Activate, comp)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(deploy, "b.war")+" exists and is not a symlink") {
		t.Fatalf("file in the way: %v", err)
	}
	want := map[string]string{"webapps/a.war": "/old/a.war", "webapps/b.war": ""}
	if d := cmp.Diff(want, links(t, s.base)); d != "" {
		t.Errorf("after the failed activation (-want +got):\n%s", d)
	}
	if s.active(t, WebApplication, comp) {
		t.Error("marked active")
	}
}

func TestShellEnv(t *testing.T) {
	req := &module.Request{Container: module.Container{Name: "axis2-webservice"}}
	env, err := Axis2Service.ShellEnv(req)
	want := []string{"catalinaBaseDir=/var/tomcat", "axis2BaseDir=/var/tomcat/webapps/axis2/WEB-INF/services"}
	if err != nil || !cmp.Equal(want, env) {
		t.Errorf("ShellEnv = %q, %v", env, err)
	}
}
