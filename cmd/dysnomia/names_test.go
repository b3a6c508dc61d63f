package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostileNames are component and container arguments that must be refused
// before anything happens: path steps that reach out of the search
// directories or onto another component, and names that do not print on
// one line.
var hostileNames = []string{".", "..", "x/../..", "../../../DIR", "a/b", "../elsewhere/x", "new\nline", "tab\tx", "esc\x1b[2J", "bad\xff"}

// quoted is how an error quotes a hostile name: the command line reads
// invalid UTF-8 as U+FFFD.
func quoted(name string) string { return strconv.Quote(strings.ToValidUTF8(name, "\uFFFD")) }

// tree lists every path under dir, so a test can tell that nothing was
// created.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nameWorld is a machine where the hostile names would do damage if they
// were used: a SQLite container whose module creates files, a component "b"
// that "a/b" would stand for, a container file outside the containers path
// that "../elsewhere/x" would read.
func nameWorld(t *testing.T) (*world, string) {
	w := newWorld(t)
	dbdir := filepath.Join(w.root, "db")
	writeFile(t, filepath.Join(w.containers, "sqlite-database"), "type=sqlite-database\nsqliteDatabaseDir="+dbdir+"\n", 0o644)
	mkdir(t, filepath.Join(w.root, "elsewhere"))
	writeFile(t, filepath.Join(w.root, "elsewhere", "x"), "type=recorder\n", 0o644)
	for _, c := range []string{"b", "x", "a"} {
		mkdir(t, filepath.Join(w.components, "sqlite-database", c))
		mkdir(t, filepath.Join(w.components, "sqlite-database", "a", "b"))
	}
	mkdir(t, w.state)
	return w, dbdir
}

func TestHostileNamesRefusedBeforeAnySideEffect(t *testing.T) {
	for _, act := range []string{"activate", "deactivate", "lock", "unlock", "snapshot", "restore", "collect-garbage"} {
		for _, name := range hostileNames {
			for _, flag := range []string{"--component", "--container"} {
				t.Run(act+"/"+flag+"/"+strconv.Quote(name), func(t *testing.T) {
					w, dbdir := nameWorld(t)
					before := tree(t, w.root)
					args := []string{act, "--component=b", "--container=sqlite-database"}
					if flag == "--component" {
						args[1] = "--component=" + name
					} else {
						args[2] = "--container=" + name
					}
					_, stderr, code := runCLI(t, "dysnomia", w.environ(), args...)
					if code != 1 {
						t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
					}
					if !strings.Contains(stderr, flag+" "+quoted(name)) {
						t.Errorf("the error does not name the argument %s %q: %s", flag, name, stderr)
					}
					if strings.Count(stderr, "\n") != 1 {
						t.Errorf("the error spans lines: %q", stderr)
					}
					if diff := cmp.Diff(before, tree(t, w.root)); diff != "" {
						t.Errorf("files changed (-before +after):\n%s", diff)
					}
					if _, err := os.Stat(dbdir); err == nil {
						t.Errorf("the module ran: %s exists", dbdir)
					}
					if _, err := os.Stat(w.record); err == nil {
						t.Errorf("the module of ../elsewhere/x ran")
					}
				})
			}
		}
	}
}

func TestHostileNamesInDisnixCall(t *testing.T) {
	for _, name := range hostileNames {
		for _, flag := range []string{"--component", "--container"} {
			w, _ := nameWorld(t)
			comp := filepath.Join(w.root, "pkg", "testdb")
			mkdir(t, comp)
			args := []string{"--type", "recorder", "--operation", "activate", "--component=" + comp, "--container=mycontainer", "--environment"}
			if flag == "--component" {
				args[4] = "--component=" + name
			} else {
				args[5] = "--container=" + name
			}
			before := tree(t, w.root)
			_, stderr, code := runCLI(t, "dysnomia", w.environ(), args...)
			if code != 1 || !strings.Contains(stderr, flag+" "+quoted(name)) {
				t.Errorf("%s %q: exit %d, stderr %q; want 1 and the argument named", flag, name, code, stderr)
			}
			if diff := cmp.Diff(before, tree(t, w.root)); diff != "" {
				t.Errorf("%s %q: files changed (-before +after):\n%s", flag, name, diff)
			}
		}
	}
}

// A component given as a path works as upstream (its base name), but the
// name that results must be valid too.
func TestComponentPathNames(t *testing.T) {
	w, dbdir := nameWorld(t)
	good := filepath.Join(w.root, "pkg", "notes")
	mkdir(t, good)
	if _, stderr, code := runCLI(t, "dysnomia", w.environ(), "activate", "--component", good, "--container", "sqlite-database"); code != 0 {
		t.Fatalf("activate by path: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dbdir, "notes.sqlite")); err != nil {
		t.Errorf("activate by path made no database: %v", err)
	}
	bad := filepath.Join(w.root, "pkg", "two\nlines")
	mkdir(t, bad)
	before := tree(t, w.root)
	_, stderr, code := runCLI(t, "dysnomia", w.environ(), "activate", "--component", bad, "--container", "sqlite-database")
	if code != 1 || !strings.Contains(stderr, `component "`) || !strings.Contains(stderr, `two\nlines`) {
		t.Errorf("exit %d, stderr %q: want 1 and the component named", code, stderr)
	}
	if diff := cmp.Diff(before, tree(t, w.root)); diff != "" {
		t.Errorf("files changed (-before +after):\n%s", diff)
	}
}

func TestHostileNamesInBulkAndStoreCommands(t *testing.T) {
	for _, name := range hostileNames {
		for _, args := range [][]string{
			{"snapshots", "list", "--component=" + name},
			{"snapshots", "list", "--container=" + name},
			{"snapshots", "latest", "--component=" + name},
			{"snapshots", "gc", "--keep", "0", "--container=" + name},
			{"snapshots", "check", "--component=" + name},
			{"snapshots", "export", "--container=" + name},
			{"containers", "deploy", "--container=" + name},
			{"containers", "snapshot", "--container=" + name},
			{"containers", "collect-garbage", "--container=" + name},
		} {
			w, _ := nameWorld(t)
			before := tree(t, w.root)
			stdout, stderr, code := runCLI(t, "dysnomia", w.environ(), args...)
			if code != 1 || !strings.Contains(stderr, quoted(name)) {
				t.Errorf("%q: exit %d, stderr %q; want 1 and the name quoted", args, code, stderr)
			}
			if stdout != "" {
				t.Errorf("%q: printed %q", args, stdout)
			}
			if diff := cmp.Diff(before, tree(t, w.root)); diff != "" {
				t.Errorf("%q: files changed (-before +after):\n%s", args, diff)
			}
		}
	}
	for _, args := range [][]string{
		{"snapshots", "print-missing", "c/a\nb/id"},
		{"snapshots", "resolve", "c/../id"},
		{"snapshots", "print-missing", "c/comp/../x"},
	} {
		w, _ := nameWorld(t)
		_, stderr, code := runCLI(t, "dysnomia", w.environ(), args...)
		if code != 1 {
			t.Errorf("%q: exit %d, want 1; stderr %q", args, code, stderr)
		}
	}
}

func TestHostileNamesUpstreamSnapshotsTool(t *testing.T) {
	for _, name := range hostileNames {
		w, _ := nameWorld(t)
		before := tree(t, w.root)
		_, stderr, code := runCLI(t, "dysnomia-snapshots", w.environ(), "--query-all", "--container="+name)
		if code != 1 || !strings.Contains(stderr, quoted(name)) {
			t.Errorf("--container %q: exit %d, stderr %q; want 1 and the name quoted", name, code, stderr)
		}
		if diff := cmp.Diff(before, tree(t, w.root)); diff != "" {
			t.Errorf("files changed (-before +after):\n%s", diff)
		}
	}
}
