package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// rewriterModule is an external module that keeps its markers its own way:
// deactivate deletes the activated marker and creates an empty garbage
// marker (as hand-written modules do), collect-garbage deletes its state
// and the marker. Its state lives next to the state directory, so that it
// needs no container property.
const rewriterModule = `#!/bin/sh
comp=$(basename "$2" | sed 's/^[0-9a-df-np-sv-z]\{32\}-//')
cont=$(basename "$3")
state="$(dirname "$DYSNOMIA_STATEDIR")/rw-state/$comp"
act="$DYSNOMIA_STATEDIR/activated/$cont/$comp"
gar="$DYSNOMIA_STATEDIR/garbage/$cont/$comp"
case "$1" in
activate) mkdir -p "$state" "$(dirname "$act")"; rm -f "$gar"; : > "$act" ;;
deactivate) rm -f "$act"; mkdir -p "$(dirname "$gar")"; : > "$gar" ;;
collect-garbage) if [ -e "$gar" ]; then rm -rf "$state"; rm -f "$gar"; fi ;;
esac
`

// TestRemoveThenCollectGarbage is the life of a component that leaves the
// machine: deploy activates it from the components directory, its entry is
// removed, deploy deactivates it, and collect-garbage (planned from the
// garbage markers alone, as dysnomia-containers --collect-garbage does)
// deletes its state — also when the container file went with it, and when
// the module writes its own, empty, garbage marker.
func TestRemoveThenCollectGarbage(t *testing.T) {
	cases := []struct {
		name          string
		container     string
		setup         func(t *testing.T, f *fixture) (path, state string)
		dropContainer bool // remove the container file together with the entry
	}{
		{name: "fileset", container: "fileset", setup: setupFileset},
		{name: "fileset, container file gone", container: "fileset", setup: setupFileset, dropContainer: true},
		{name: "sqlite-database", container: "sqlite", setup: setupSQLite},
		{name: "module writes an empty garbage marker", container: "rw", setup: setupRewriter},
		{name: "module writes an empty garbage marker, container file gone", container: "rw", setup: setupRewriter, dropContainer: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			path, state := tc.setup(t, f)
			comp := filepath.Base(path)[33:]
			k := key(tc.container, comp)
			if _, err := f.deploy(t); err != nil {
				t.Fatalf("deploy: %v\n%s", err, f.report)
			}
			if _, err := os.Stat(state); err != nil {
				t.Fatalf("activation made no state: %v", err)
			}

			f.unlink(t, tc.container, comp)
			if tc.dropContainer {
				must(t, os.Remove(filepath.Join(f.containers, tc.container)))
			}
			if _, err := f.deploy(t); err != nil {
				t.Fatalf("deploy after removal: %v\n%s", err, f.report)
			}
			garbage, err := f.st.Garbage()
			must(t, err)
			if len(garbage) != 1 || garbage[0].Key != k || garbage[0].ComponentPath != path || garbage[0].Type == "" {
				t.Fatalf("garbage markers = %+v, want %s recording %s and its type", garbage, k, path)
			}
			if _, err := os.Stat(state); err != nil {
				t.Fatalf("deactivation lost the state: %v", err)
			}

			// Nothing but the markers: the components path no longer has it.
			noFind := func(k store.Key) (string, error) { return Find([]string{f.components}, k) }
			steps := Each(module.CollectGarbage, garbage, Garbage, noFind)
			if err := (&Executor{Invoker: f.invoker()}).Run(context.Background(), steps); err != nil {
				t.Fatalf("collect-garbage: %v\n%s", err, f.report)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Errorf("state not collected: %v", err)
			}
			if g, _ := f.st.Garbage(); len(g) != 0 {
				t.Errorf("garbage markers left: %+v", g)
			}
			if a, _ := f.st.Activated(); len(a) != 0 {
				t.Errorf("activated markers left: %+v", a)
			}
		})
	}
}

func setupFileset(t *testing.T, f *fixture) (string, string) {
	web := filepath.Join(f.root, "srv", "web")
	f.container(t, "fileset", "type=fileset")
	p := f.component(t, "fileset", "web", map[string]string{
		".dysnomia-targetdir": web + "\n",
		".dysnomia-fileset":   "mkdir files\n",
	})
	return p, filepath.Join(web, "files")
}

func setupSQLite(t *testing.T, f *fixture) (string, string) {
	dir := filepath.Join(f.root, "db")
	f.container(t, "sqlite", "type=sqlite-database", "sqliteDatabaseDir="+dir)
	p := f.component(t, "sqlite", "notes", map[string]string{
		"sqlite-databases/01.sql": "create table notes (body text);\n",
	})
	return p, filepath.Join(dir, "notes.sqlite")
}

func setupRewriter(t *testing.T, f *fixture) (string, string) {
	must(t, os.WriteFile(filepath.Join(f.modules, "rewriter"), []byte(rewriterModule), 0o755))
	f.container(t, "rw", "type=rewriter")
	p := f.component(t, "rw", "x", nil)
	return p, filepath.Join(f.root, "rw-state", "x")
}

// TestStaleGarbageMarker: a garbage marker left over (empty, as upstream
// writes it) next to the activated marker of a later activation does not
// hide the later record: deactivation keeps the recorded path.
func TestStaleGarbageMarker(t *testing.T) {
	f := newFixture(t)
	f.container(t, "echo", "type=echo")
	a := f.component(t, "echo", "a", nil)
	_, err := f.deploy(t)
	must(t, err)
	stale := filepath.Join(f.state, "garbage", "echo", "a")
	must(t, os.MkdirAll(filepath.Dir(stale), 0o755))
	must(t, os.WriteFile(stale, nil, 0o644))
	f.unlink(t, "echo", "a")
	_, err = f.deploy(t)
	must(t, err)
	garbage, _ := f.st.Garbage()
	want := []store.Marker{{Key: key("echo", "a"), ComponentPath: a, Type: "echo"}}
	if d := cmp.Diff(want, garbage); d != "" {
		t.Errorf("garbage (-want +got):\n%s", d)
	}
	if act, _ := f.st.Activated(); len(act) != 0 {
		t.Errorf("still activated: %+v", act)
	}
	if !strings.Contains(f.stdout.String(), "Echo module: Deactivate service: "+a) {
		t.Errorf("not deactivated: %s", f.stdout.String())
	}
}
