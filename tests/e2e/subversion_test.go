package e2e

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// svnRequire skips the test when Subversion is missing (fails it under
// CI=true).
func svnRequire(t *testing.T) {
	t.Helper()
	for _, p := range []string{"svnadmin", "svnlook", "svn", "svnmucc"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (CI=true: a missing tool is a failure)", p)
			}
			t.Skipf("%s not found", p)
		}
	}
}

func svnTool(t *testing.T, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func svnURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

// svnPut commits a file into the repository at dir.
func svnPut(t *testing.T, dir, path, content string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte(content), 0o644)
	svnTool(t, "svnmucc", "--non-interactive", "--config-dir", t.TempDir(), "-m", "put "+path, "-U", svnURL(dir), "put", src, path)
}

func svnList(t *testing.T, dir string) []string {
	t.Helper()
	list := strings.Fields(svnTool(t, "svn", "--non-interactive", "--config-dir", t.TempDir(), "list", "-R", svnURL(dir)))
	sort.Strings(list)
	return list
}

// svnComponent makes a component in a fake Nix store whose initial dump
// is a repository with index.php in r1.
func svnComponent(t *testing.T, name string, dump []byte) (path, storeDir string) {
	t.Helper()
	storeDir = t.TempDir()
	path = filepath.Join(storeDir, "0123456789abcdfghijklmnpqrsvwxyz-"+name)
	myWrite(t, filepath.Join(path, "subversion-repositories", "testrepos.dump"), string(dump))
	return path, storeDir
}

func svnInitialDump(t *testing.T) []byte {
	t.Helper()
	scratch := filepath.Join(t.TempDir(), "scratch")
	svnTool(t, "svnadmin", "create", scratch)
	svnPut(t, scratch, "index.php", "<?php echo 'Hello world'; ?>\n")
	return []byte(svnTool(t, "svnadmin", "dump", "--quiet", scratch))
}

func svnDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	return Run(t, env, "dysnomia", "--type", "subversion-repository", "--operation", op,
		"--component", comp, "--container", "subversion-repository", "--environment")
}

func svnMustDisnix(t *testing.T, env []string, op, comp string) Result {
	t.Helper()
	r := svnDisnix(t, env, op, comp)
	if r.Code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", op, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// TestSubversionDisnix runs the subversion-repository module through the
// built binary as Disnix calls it, with the properties in the environment,
// on a component and a base directory whose names hold quotes and spaces.
func TestSubversionDisnix(t *testing.T) {
	svnRequire(t)
	name := `it's a "repo"`
	comp, storeDir := svnComponent(t, name, svnInitialDump(t))
	env, stateDir := StateEnv(t)
	base := filepath.Join(t.TempDir(), "svn repos")
	env = append(env, "svnBaseDir="+base, "NIX_STORE_DIR="+storeDir, "PATH=/usr/bin:/bin")
	repo := filepath.Join(base, name)

	svnMustDisnix(t, env, "activate", comp)
	if diff := cmp.Diff([]string{"index.php"}, svnList(t, repo)); diff != "" {
		t.Fatalf("after activate (-want +got):\n%s", diff)
	}
	svnPut(t, repo, "hello.php", "bye")
	svnMustDisnix(t, env, "snapshot", comp)
	want := svnTool(t, "svnadmin", "dump", "--quiet", repo)
	svnMustDisnix(t, env, "snapshot", comp)
	q := MustRun(t, env, "dysnomia-snapshots", "--query-all", "--container", "subversion-repository", "--component", comp)
	if lines := strings.Split(strings.TrimSpace(q.Stdout), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "subversion-repository/"+name+"/") {
		t.Fatalf("an unchanged repository made a new generation: %q", q.Stdout)
	}

	svnPut(t, repo, "later.php", "later")
	svnMustDisnix(t, env, "restore", comp)
	if diff := cmp.Diff(want, svnTool(t, "svnadmin", "dump", "--quiet", repo)); diff != "" {
		t.Errorf("after restore (-snapshot +restored):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"hello.php", "index.php"}, svnList(t, repo)); diff != "" {
		t.Errorf("after restore (-want +got):\n%s", diff)
	}
	MustRun(t, env, "dysnomia-snapshots", "--query-all", "--check", "--container", "subversion-repository", "--component", comp)

	svnMustDisnix(t, env, "deactivate", comp)
	svnMustDisnix(t, env, "collect-garbage", comp)
	if _, err := os.Stat(repo); !os.IsNotExist(err) {
		t.Errorf("the repository is still there after deactivate and gc: %v", err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "snapshots", "subversion-repository", name)); err != nil {
		t.Errorf("gc of the repository removed its snapshots: %v", err)
	}
}

// TestSubversionDisnixBadDump: a failing initial dump makes the binary exit
// non-zero, naming the file, and leaves no repository.
func TestSubversionDisnixBadDump(t *testing.T) {
	svnRequire(t)
	comp, storeDir := svnComponent(t, "broken", []byte("SVN-fs-dump-format-version: 2\n\nnot a dump\n"))
	env, _ := StateEnv(t)
	base := filepath.Join(t.TempDir(), "repos")
	env = append(env, "svnBaseDir="+base, "NIX_STORE_DIR="+storeDir, "PATH=/usr/bin:/bin")
	r := svnDisnix(t, env, "activate", comp)
	if r.Code == 0 || !strings.Contains(r.Stderr, "testrepos.dump") {
		t.Fatalf("activate with a bad dump: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(base, "broken")); !os.IsNotExist(err) {
		t.Errorf("a repository was left: %v", err)
	}
	r = svnDisnix(t, append(env[:len(env):len(env)], "svnBaseDir="), "activate", comp)
	if r.Code == 0 || !strings.Contains(r.Stderr, "svnBaseDir") {
		t.Errorf("activate without svnBaseDir: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

// TestModulesListsStateModules: dysnomia modules lists the native state
// modules.
func TestModulesListsStateModules(t *testing.T) {
	r := MustRun(t, nil, "dysnomia", "modules")
	got := strings.Fields(r.Stdout)
	for _, want := range []string{"subversion-repository", "influx-database", "ejabberd-dump"} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("dysnomia modules lacks %s:\n%s", want, r.Stdout)
		}
	}
}
