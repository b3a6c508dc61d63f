package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The exit statuses the README documents, for the cases the hardening
// work named: a missing snapshot is 65 wherever it is asked for, a state
// directory that was given and does not exist is an error naming it.
func TestExitStatusAsDocumented(t *testing.T) {
	w := newWorld(t)
	db := filepath.Join(w.root, "db")
	writeFile(t, filepath.Join(w.containers, "sqlite-database"), "type=sqlite-database\nsqliteDatabaseDir="+db+"\n", 0o644)
	comp := filepath.Join(w.root, "pkgs", "notes")
	mkdir(t, filepath.Join(comp, "sqlite-databases"))
	writeFile(t, filepath.Join(comp, "sqlite-databases", "1.sql"), "create table t (x);\n", 0o644)
	for _, act := range []string{"activate", "snapshot"} {
		if _, stderr, code := runCLI(t, "dysnomia", w.environ(), act, "-C", "sqlite-database", "-c", comp); code != 0 {
			t.Fatalf("%s: exit %d: %s", act, code, stderr)
		}
	}
	list, _, _ := runCLI(t, "dysnomia", w.environ(), "snapshots", "list")
	rel := strings.TrimSpace(list)
	if err := os.RemoveAll(filepath.Join(w.state, "snapshots", rel)); err != nil {
		t.Fatal(err)
	}
	missingDir := filepath.Join(w.root, "no-such-state")
	for _, tc := range []struct {
		name   string
		prog   string
		env    []string
		args   []string
		code   int
		stderr string // a part of the message
	}{
		{"restore of the latest generation whose snapshot is gone", "dysnomia", nil,
			[]string{"restore", "-C", "sqlite-database", "-c", comp}, 65, "missing"},
		{"restore of a named snapshot that is gone", "dysnomia", nil,
			[]string{"restore", "-C", "sqlite-database", "-c", comp, "--snapshot", rel}, 65, "missing"},
		{"restore of a snapshot that never existed", "dysnomia", nil,
			[]string{"restore", "-C", "sqlite-database", "-c", comp, "--snapshot", "nosuchid"}, 65, "missing"},
		{"resolve of a snapshot that does not exist", "dysnomia", nil,
			[]string{"snapshots", "resolve", rel}, 65, "missing"},
		{"upstream --resolve of a snapshot that does not exist", "dysnomia-snapshots", nil,
			[]string{"--resolve", rel}, 65, "missing"},
		{"check of a state directory that does not exist", "dysnomia", nil,
			[]string{"--state-dir", missingDir, "snapshots", "check"}, 1, missingDir + " (--state-dir) does not exist"},
		{"list of a state directory that does not exist", "dysnomia", []string{"DYSNOMIA_STATEDIR=" + missingDir},
			[]string{"snapshots", "list"}, 1, missingDir + " (DYSNOMIA_STATEDIR) does not exist"},
		{"gc of a state directory that does not exist", "dysnomia", nil,
			[]string{"--state-dir", missingDir, "snapshots", "gc"}, 1, "does not exist"},
		{"upstream --query-all of a missing store: empty, as upstream", "dysnomia-snapshots", []string{"DYSNOMIA_STATEDIR=" + missingDir},
			[]string{"--query-all"}, 0, ""},
		{"print-missing on a machine with no store: everything is missing", "dysnomia", []string{"DYSNOMIA_STATEDIR=" + missingDir},
			[]string{"snapshots", "print-missing", rel}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.prog, w.environ(tc.env...), tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
	if _, err := os.Stat(missingDir); err == nil {
		t.Errorf("a command created the missing state directory %s", missingDir)
	}
}
