package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// disnixCall runs one activity the way Disnix calls dysnomia: the type, the
// operation, the component (a store path), the container name, and the
// container properties in the environment.
func disnixCall(t *testing.T, env []string, typ, op, comp, container string) Result {
	t.Helper()
	return MustRun(t, env, "dysnomia", "--type", typ, "--operation", op, "--component", comp, "--container", container, "--environment")
}

// TestDisnixWebApplications drives generic-, apache- and
// nginx-webapplication through Disnix's call shape: a stateless component
// is linked into the document root and unlinked; a fileset component's
// uploads are snapshotted (listed by dysnomia-snapshots), restored and
// collected.
func TestDisnixWebApplications(t *testing.T) {
	for _, typ := range []string{"generic-webapplication", "apache-webapplication", "nginx-webapplication"} {
		t.Run(typ, func(t *testing.T) {
			env, state := StateEnv(t)
			root := filepath.Dir(state)
			store := filepath.Join(root, "nix", "store")
			docRoot := filepath.Join(root, "var", "www")
			env = append(env, "NIX_STORE_DIR="+store, "documentRoot="+docRoot)

			site := filepath.Join(store, "11111111111111111111111111111111-site")
			write(t, filepath.Join(site, "webapps", "index.html"), "<h1>hello</h1>", 0o644)
			for _, op := range []string{"activate", "activate", "snapshot", "restore", "lock", "unlock"} {
				disnixCall(t, env, typ, op, site, typ)
			}
			if data, err := os.ReadFile(filepath.Join(docRoot, "index.html")); err != nil || string(data) != "<h1>hello</h1>" {
				t.Fatalf("served page: %q, %v", data, err)
			}
			r := MustRun(t, env, "dysnomia-containers", "--query-activated-components")
			if !strings.Contains(r.Stdout, typ+"/site\n") {
				t.Errorf("activated: %q", r.Stdout)
			}
			disnixCall(t, env, typ, "deactivate", site, typ)
			disnixCall(t, env, typ, "deactivate", site, typ)
			if _, err := os.Lstat(filepath.Join(docRoot, "index.html")); !os.IsNotExist(err) {
				t.Errorf("still linked: %v", err)
			}

			cms := filepath.Join(store, "22222222222222222222222222222222-cms")
			write(t, filepath.Join(cms, "app", "index.php"), "<?php", 0o644)
			write(t, filepath.Join(cms, ".dysnomia-fileset"), "symlink "+filepath.Join(cms, "app")+"\ntarget .\nmkdir uploads\n", 0o644)
			disnixCall(t, env, typ, "activate", cms, typ)
			uploads := filepath.Join(docRoot, "uploads")
			write(t, filepath.Join(uploads, "a.jpg"), "v1", 0o644)
			disnixCall(t, env, typ, "snapshot", cms, typ)
			r = MustRun(t, env, "dysnomia-snapshots", "--query-all", "--container", typ, "--component", cms)
			if lines := strings.Fields(r.Stdout); len(lines) != 1 || !strings.HasPrefix(lines[0], typ+"/cms/") {
				t.Errorf("--query-all: %q", r.Stdout)
			}
			write(t, filepath.Join(uploads, "a.jpg"), "v2", 0o644)
			disnixCall(t, env, typ, "restore", cms, typ)
			if data, _ := os.ReadFile(filepath.Join(uploads, "a.jpg")); string(data) != "v1" {
				t.Errorf("after restore: %q", data)
			}
			disnixCall(t, env, typ, "deactivate", cms, typ)
			disnixCall(t, env, typ, "collect-garbage", cms, typ)
			if _, err := os.Stat(uploads); !os.IsNotExist(err) {
				t.Errorf("uploads after collect-garbage: %v", err)
			}
		})
	}
}

// TestDisnixTomcat drives tomcat-webapplication and axis2-webservice
// through Disnix's call shape.
func TestDisnixTomcat(t *testing.T) {
	env, state := StateEnv(t)
	root := filepath.Dir(state)
	store := filepath.Join(root, "nix", "store")
	base := filepath.Join(root, "var", "tomcat")
	env = append(env, "NIX_STORE_DIR="+store, "catalinaBaseDir="+base, "timeout=1")
	services := filepath.Join(base, "webapps", "axis2", "WEB-INF", "services")
	if err := os.MkdirAll(services, 0o755); err != nil {
		t.Fatal(err)
	}

	shop := filepath.Join(store, "33333333333333333333333333333333-shop")
	write(t, filepath.Join(shop, "webapps", "shop.war"), "war", 0o644)
	write(t, filepath.Join(shop, "conf", "Catalina", "shop.xml"), "<Context/>", 0o644)
	calc := filepath.Join(store, "44444444444444444444444444444444-calc")
	write(t, filepath.Join(calc, "webapps", "axis2", "WEB-INF", "services", "Calc.aar"), "aar", 0o644)

	for _, op := range []string{"activate", "activate", "lock", "unlock", "snapshot"} {
		disnixCall(t, env, "tomcat-webapplication", op, shop, "tomcat-webapplication")
		disnixCall(t, env, "axis2-webservice", op, calc, "axis2-webservice")
	}
	got := map[string]string{}
	for _, l := range []string{"webapps/shop.war", "conf/Catalina/localhost/shop.xml", "webapps/axis2/WEB-INF/services/Calc.aar"} {
		target, err := os.Readlink(filepath.Join(base, l))
		if err != nil {
			t.Fatal(err)
		}
		got[l] = target
	}
	want := map[string]string{
		"webapps/shop.war":                        filepath.Join(shop, "webapps", "shop.war"),
		"conf/Catalina/localhost/shop.xml":        filepath.Join(shop, "conf", "Catalina", "shop.xml"),
		"webapps/axis2/WEB-INF/services/Calc.aar": filepath.Join(calc, "webapps", "axis2", "WEB-INF", "services", "Calc.aar"),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("links (-want +got):\n%s", d)
	}
	disnixCall(t, env, "tomcat-webapplication", "deactivate", shop, "tomcat-webapplication")
	disnixCall(t, env, "axis2-webservice", "deactivate", calc, "axis2-webservice")
	for l := range want {
		if _, err := os.Lstat(filepath.Join(base, l)); !os.IsNotExist(err) {
			t.Errorf("%s after deactivate: %v", l, err)
		}
	}
	if r := MustRun(t, env, "dysnomia-containers", "--query-activated-components"); r.Stdout != "" {
		t.Errorf("still activated: %q", r.Stdout)
	}

	// A deployment directory that never appears: exit 1, the directory named.
	env2 := append(env, "catalinaBaseDir="+filepath.Join(root, "no-tomcat"))
	r := Run(t, env2, "dysnomia", "--type", "tomcat-webapplication", "--operation", "activate", "--component", shop, "--container", "tomcat-webapplication", "--environment")
	if r.Code != 1 || !strings.Contains(r.Stderr, filepath.Join(root, "no-tomcat", "webapps")+" did not appear within 1s") {
		t.Errorf("missing Tomcat: exit %d: %s", r.Code, r.Stderr)
	}
}
