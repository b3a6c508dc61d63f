package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// runTTY runs the command line with a terminal (a pty) as standard error and
// returns what the terminal showed.
func runTTY(t *testing.T, environ []string, args ...string) (string, int) {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pty: %v", err)
	}
	defer ptm.Close()
	shown := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, ptm) // until the terminal side is closed
		shown <- b.String()
	}()
	var out bytes.Buffer
	code := run(context.Background(), append([]string{"dysnomia"}, args...), strings.NewReader(""), &out, tty, environ)
	tty.Close()
	return <-shown, code
}

// On a terminal a restore shows how much of the snapshot it has read, of
// how much, the rate and the time left; on a pipe, and with --quiet, it
// shows no progress.
func TestProgressOnTerminal(t *testing.T) {
	w := newWorld(t)
	db := filepath.Join(w.root, "db")
	writeFile(t, filepath.Join(w.containers, "sqlite-database"), "type=sqlite-database\nsqliteDatabaseDir="+db+"\n", 0o644)
	comp := filepath.Join(w.root, "pkgs", "notes")
	mkdir(t, filepath.Join(comp, "sqlite-databases"))
	writeFile(t, filepath.Join(comp, "sqlite-databases", "1.sql"),
		"create table t (b blob);\nwith recursive n(i) as (select 1 union all select i+1 from n where i < 2000) insert into t select randomblob(4096) from n;\n", 0o644)
	for _, act := range []string{"activate", "snapshot"} {
		if _, stderr, code := runCLI(t, "dysnomia", w.environ(), act, "-C", "sqlite-database", "-c", comp); code != 0 {
			t.Fatalf("%s: %d %s", act, code, stderr)
		}
	}
	if err := os.Remove(filepath.Join(db, "notes.sqlite")); err != nil {
		t.Fatal(err)
	}
	shown, code := runTTY(t, w.environ(), "restore", "-C", "sqlite-database", "-c", comp)
	if code != 0 {
		t.Fatalf("restore on a terminal: exit %d: %s", code, shown)
	}
	if !strings.Contains(shown, "dysnomia: restore sqlite-database/notes: ") || !strings.Contains(shown, "(100%)") || !strings.Contains(shown, "/s, done") {
		t.Errorf("the terminal showed no complete progress line:\n%q", shown)
	}

	// A pipe gets the notes, and no progress.
	_, stderr, code := runCLI(t, "dysnomia", w.environ(), "restore", "-C", "sqlite-database", "-c", comp)
	if code != 0 || strings.Contains(stderr, "%") || strings.Contains(stderr, "\r") || !strings.Contains(stderr, "restored") {
		t.Errorf("restore on a pipe: exit %d, %q", code, stderr)
	}
	// --quiet on a terminal: no progress, no notes.
	shown, code = runTTY(t, w.environ(), "--quiet", "restore", "-C", "sqlite-database", "-c", comp)
	if code != 0 || strings.TrimSpace(shown) != "" {
		t.Errorf("restore --quiet on a terminal: exit %d, showed %q", code, shown)
	}
	// check counts against the size of what it verifies.
	shown, code = runTTY(t, w.environ(), "snapshots", "check")
	if code != 0 || !strings.Contains(shown, "dysnomia: check: ") || !strings.Contains(shown, "(100%)") {
		t.Errorf("check on a terminal: exit %d, %q", code, shown)
	}
}
