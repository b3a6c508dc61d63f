package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// emptyMarkerModule is an external module that writes its markers itself,
// the garbage marker empty (as hand-written modules do); its state is a
// directory next to the state directory.
const emptyMarkerModule = `#!/bin/sh
comp=$(basename "$2" | sed 's/^[0-9a-df-np-sv-z]\{32\}-//')
state="$(dirname "$DYSNOMIA_STATEDIR")/em-state/$comp"
act="$DYSNOMIA_STATEDIR/activated/$3/$comp"
gar="$DYSNOMIA_STATEDIR/garbage/$3/$comp"
case "$1" in
activate) mkdir -p "$state" "$(dirname "$act")"; : > "$act" ;;
deactivate) rm -f "$act"; mkdir -p "$(dirname "$gar")"; : > "$gar" ;;
collect-garbage) if [ -e "$gar" ]; then rm -rf "$state"; rm -f "$gar"; fi ;;
esac
`

// TestDeployRemoveCollectGarbage: dysnomia-containers --deploy activates
// components, their entries leave the components directory (one container
// file goes too), --deploy deactivates them, and --collect-garbage deletes
// their state from what the garbage markers record.
func TestDeployRemoveCollectGarbage(t *testing.T) {
	m := newMachine(t)
	modules := filepath.Join(m.root, "modules")
	write(t, filepath.Join(modules, "empty-marker"), emptyMarkerModule, 0o755)
	containers := filepath.Join(m.root, "containers")
	dbDir := filepath.Join(m.root, "db")
	write(t, filepath.Join(containers, "sqlite-database"), "type=sqlite-database\nsqliteDatabaseDir="+dbDir+"\n", 0o644)
	write(t, filepath.Join(containers, "em"), "type=empty-marker\n", 0o644)
	m.component(t, "sqlite-database", "44444444444444444444444444444444", "notes", map[string]string{
		"sqlite-databases/01.sql": "CREATE TABLE test (msg TEXT);\n",
	})
	m.component(t, "em", "55555555555555555555555555555555", "y", nil)
	MustRun(t, m.env, "dysnomia-containers", "--deploy")

	data := filepath.Join(m.target, "files")
	write(t, filepath.Join(data, "hello"), "Hello world\n", 0o644)
	dbFile := filepath.Join(dbDir, "notes.sqlite")
	emState := filepath.Join(m.root, "em-state", "y")
	for _, p := range []string{dbFile, emState} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("not activated: %v", err)
		}
	}

	for _, c := range []string{"fileset/web", "sqlite-database/notes", "em/y"} {
		if err := os.Remove(filepath.Join(m.components, c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(containers, "em")); err != nil {
		t.Fatal(err)
	}
	r := MustRun(t, m.env, "dysnomia-containers", "--deploy")
	if !strings.Contains(r.Stderr, "deactivate 3") {
		t.Errorf("deploy after removal: %s", r.Stderr)
	}
	if d := cmp.Diff([]string{"echo/hello", "rec/x"}, m.lines(t, "--query-activated-components")); d != "" {
		t.Errorf("activated after removal (-want +got):\n%s", d)
	}
	for _, p := range []string{data, dbFile, emState} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("deactivation lost state: %v", err)
		}
	}

	r = Run(t, m.env, "dysnomia-containers", "--collect-garbage")
	if r.Code != 0 {
		t.Fatalf("--collect-garbage: exit %d\n%s", r.Code, r.Stderr)
	}
	for _, p := range []string{data, dbFile, emState} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s not collected: %v", p, err)
		}
	}
	for _, c := range []string{"fileset", "sqlite-database", "em"} {
		if got := listDir(t, filepath.Join(m.state, "garbage", c)); got != nil {
			t.Errorf("garbage/%s left: %q", c, got)
		}
	}
	if !strings.Contains(r.Stderr, "container file of em is gone") {
		t.Errorf("no warning about the missing container file:\n%s", r.Stderr)
	}
}
