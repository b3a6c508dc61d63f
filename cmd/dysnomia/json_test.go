package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/remote"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/system"
)

// decodeStrict decodes a --json document into its documented shape,
// refusing fields the shape does not have.
func decodeStrict(t *testing.T, doc string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, doc)
	}
	if dec.More() {
		t.Fatalf("more than one document:\n%s", doc)
	}
}

// jsonShapes maps the markers of docs/json.md to the type each command
// prints.
var jsonShapes = map[string]func() any{
	"activity":          func() any { return &activityJSON{} },
	"list":              func() any { return &listJSON{} },
	"check":             func() any { return &checkResult{} },
	"gc":                func() any { return &gcJSON{} },
	"transfer":          func() any { return &transferJSON{} },
	"missing":           func() any { return &missingJSON{} },
	"resolve":           func() any { return &snapshotPathsJSON{} },
	"containers":        func() any { return &containersJSON{} },
	"components":        func() any { return &componentsJSON{} },
	"deploy":            func() any { return &deployJSON{} },
	"modules":           func() any { return &modulesJSON{} },
	"system-check":      func() any { return &systemCheckJSON{} },
	"system-switch":     func() any { return &systemSwitchJSON{} },
	"system-pre-switch": func() any { return &systemPreSwitchJSON{} },
	"push":              func() any { return &remote.Summary{} },
	"move":              func() any { return &remote.MoveSummary{} },
}

// Every example of docs/json.md is a document of the type its command
// prints, with version 1, and every shape has an example.
func TestJSONDocumentation(t *testing.T) {
	data, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- json: ([a-z-]+) -->\n```json\n(.*?)```")
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		mk, ok := jsonShapes[m[1]]
		if !ok {
			t.Errorf("docs/json.md: example %q has no shape", m[1])
			continue
		}
		seen[m[1]] = true
		v := mk()
		decodeStrict(t, m[2], v)
		var head struct{ Version int }
		json.Unmarshal([]byte(m[2]), &head)
		if head.Version != jsonVersion {
			t.Errorf("docs/json.md: example %q has version %d", m[1], head.Version)
		}
	}
	for name := range jsonShapes {
		if !seen[name] {
			t.Errorf("docs/json.md has no example of %q", name)
		}
	}
}

// Each command's real --json output is one document of its shape, alone on
// its standard output, and says what happened.
func TestJSONOutputs(t *testing.T) {
	w := newWorld(t)
	db := filepath.Join(w.root, "db")
	writeFile(t, filepath.Join(w.containers, "sqlite-database"), "type=sqlite-database\nsqliteDatabaseDir="+db+"\n", 0o644)
	comp := filepath.Join(w.root, "pkgs", "notes")
	mkdir(t, filepath.Join(comp, "sqlite-databases"))
	writeFile(t, filepath.Join(comp, "sqlite-databases", "1.sql"), "create table t (x);\n", 0o644)
	jsonRun := func(v any, args ...string) {
		t.Helper()
		out, stderr, code := runCLI(t, "dysnomia", w.environ(), args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		decodeStrict(t, out, v)
	}
	var act activityJSON
	jsonRun(&act, "activate", "--json", "-C", "sqlite-database", "-c", comp)
	if act.Version != 1 || act.Activity != "activate" || act.Component != "notes" || act.Type != "sqlite-database" || !act.OK || act.Snapshot != nil {
		t.Errorf("activate --json: %+v", act)
	}
	var snap activityJSON
	jsonRun(&snap, "snapshot", "--json", "-C", "sqlite-database", "-c", comp)
	if snap.Snapshot == nil || !snap.Snapshot.NewGeneration || snap.Snapshot.Generation != 1 {
		t.Fatalf("snapshot --json: %+v", snap)
	}
	var again activityJSON
	jsonRun(&again, "snapshot", "--json", "-C", "sqlite-database", "-c", comp)
	if again.Snapshot == nil || again.Snapshot.NewGeneration || again.Snapshot.Snapshot != snap.Snapshot.Snapshot {
		t.Errorf("unchanged snapshot --json: %+v", again.Snapshot)
	}
	var rest activityJSON
	jsonRun(&rest, "restore", "--json", "-C", "sqlite-database", "-c", comp)
	if rest.Snapshot == nil || rest.Snapshot.Snapshot != snap.Snapshot.Snapshot {
		t.Errorf("restore --json: %+v", rest.Snapshot)
	}
	var mods modulesJSON
	jsonRun(&mods, "modules", "--json")
	if !slices.Contains(mods.Modules, "sqlite-database") {
		t.Errorf("modules --json: %v", mods.Modules)
	}
	var res snapshotPathsJSON
	jsonRun(&res, "snapshots", "resolve", "--json", snap.Snapshot.Snapshot)
	if len(res.Snapshots) != 1 || res.Snapshots[0].Path != filepath.Join(w.state, "snapshots", snap.Snapshot.Snapshot) {
		t.Errorf("resolve --json: %+v", res)
	}
	var miss missingJSON
	jsonRun(&miss, "snapshots", "print-missing", "--json", snap.Snapshot.Snapshot, "sqlite-database/notes/other")
	if !cmp.Equal(miss.Missing, []string{"sqlite-database/notes/other"}) {
		t.Errorf("print-missing --json: %+v", miss)
	}

	// export's summary is on standard error; its standard output is the
	// stream, which import reads.
	var stream, exportErr bytes.Buffer
	code := run(context.Background(), []string{"dysnomia", "snapshots", "export", "--json"}, strings.NewReader(""), &stream, &exportErr, w.environ())
	if code != 0 {
		t.Fatalf("export: %d %s", code, exportErr.String())
	}
	var exp transferJSON
	doc := exportErr.String()
	decodeStrict(t, doc[strings.Index(doc, "{"):], &exp)
	if len(exp.Snapshots) != 1 || exp.Bytes != int64(stream.Len()) {
		t.Errorf("export --json: %+v (stream %d bytes)", exp, stream.Len())
	}
	other := filepath.Join(w.root, "other-state")
	var out, errb bytes.Buffer
	code = run(context.Background(), []string{"dysnomia", "--state-dir", other, "snapshots", "import", "--json"}, bytes.NewReader(stream.Bytes()), &out, &errb, w.environ())
	if code != 0 {
		t.Fatalf("import: %d %s", code, errb.String())
	}
	var imp transferJSON
	decodeStrict(t, out.String(), &imp)
	if len(imp.Snapshots) != 1 || imp.Snapshots[0].Status != "imported" || len(imp.Generations) != 1 || imp.Bytes != int64(stream.Len()) {
		t.Errorf("import --json: %+v", imp)
	}

	var gc gcJSON
	jsonRun(&gc, "snapshots", "gc", "--keep", "0", "--dry-run", "--json")
	if !gc.DryRun || len(gc.Generations) != 1 || len(gc.Snapshots) != 1 {
		t.Errorf("gc --dry-run --json: %+v", gc)
	}
	jsonRun(&gc, "snapshots", "gc", "--keep", "0", "--json")
	if gc.DryRun || len(gc.Snapshots) != 1 {
		t.Errorf("gc --json: %+v", gc)
	}
	var list listJSON
	jsonRun(&list, "snapshots", "list", "--json")
	if len(list.Snapshots) != 0 {
		t.Errorf("after gc --keep 0: %+v", list)
	}
}

// The system commands' --json: check's problems, switch's plan and what
// was done, pre-switch's snapshots.
func TestSystemJSON(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	files := filepath.Join(dir, "files")
	comp := filepath.Join(dir, "v1", "uploads")
	mkdir(t, comp)
	writeFile(t, filepath.Join(comp, ".dysnomia-fileset"), "mkdir uploads\n", 0o644)
	comp2 := filepath.Join(dir, "v2", "uploads")
	mkdir(t, comp2)
	writeFile(t, filepath.Join(comp2, ".dysnomia-fileset"), "mkdir uploads\n", 0o644)
	sysConfig := func(path string) string {
		return `{"version": 1, "stateDir": "` + state + `", "containers": {"fileset": {"type": "fileset"}},
		  "components": {"fileset": {"uploads": {"path": "` + path + `", "properties": {"targetDir": "` + files + `"}}}}}`
	}
	v1 := filepath.Join(dir, "v1.json")
	writeFile(t, v1, sysConfig(comp), 0o644)
	top2 := filepath.Join(dir, "top2")
	mkdir(t, filepath.Join(top2, "etc", "dysnomia"))
	writeFile(t, filepath.Join(top2, "etc", "dysnomia", "system.json"), sysConfig(comp2), 0o644)
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"version": 1, "extra": true}`, 0o644)
	env := []string{"HOME=" + dir}

	out, _, code := runCLI(t, "dysnomia", env, "system", "check", "--json", bad)
	var chk systemCheckJSON
	decodeStrict(t, out, &chk)
	if code != 1 || chk.OK || len(chk.Problems) != 1 || !strings.Contains(chk.Problems[0], "extra") {
		t.Errorf("system check --json of a bad config: exit %d, %+v", code, chk)
	}
	out, _, code = runCLI(t, "dysnomia", env, "system", "switch", "--json", "--config", v1)
	var sw systemSwitchJSON
	decodeStrict(t, out, &sw)
	if code != 0 || sw.DryRun || len(sw.Steps) != 1 || sw.Steps[0].Activity != "activate" || !sw.Steps[0].Done || sw.Error != "" {
		t.Errorf("system switch --json: exit %d, %+v", code, sw)
	}
	out, _, code = runCLI(t, "dysnomia", env, "system", "pre-switch", "--json", "--current", v1, top2, "switch")
	var pre systemPreSwitchJSON
	decodeStrict(t, out, &pre)
	if code != 0 || pre.Action != "switch" || len(pre.Steps) != 1 || pre.Steps[0].Activity != "snapshot" || !pre.Steps[0].Done {
		t.Errorf("system pre-switch --json: exit %d, %+v", code, pre)
	}
	out, _, code = runCLI(t, "dysnomia", env, "system", "pre-switch", "--json", "--current", v1, top2, "dry-activate")
	decodeStrict(t, out, &pre)
	if code != 0 || pre.Skipped == "" || len(pre.Steps) != 0 {
		t.Errorf("system pre-switch --json dry-activate: exit %d, %+v", code, pre)
	}
	out, _, code = runCLI(t, "dysnomia", env, "system", "switch", "--json", "--dry-run", "--config", filepath.Join(top2, "etc", "dysnomia", "system.json"))
	decodeStrict(t, out, &sw)
	if code != 0 || !sw.DryRun || len(sw.Steps) != 1 || sw.Steps[0].Done || sw.Steps[0].Reason != "changed" {
		t.Errorf("system switch --json --dry-run: exit %d, %+v", code, sw)
	}
}

// A restore of a pre-upgrade snapshot that the switch did in place of the
// init scripts shows up in switch --json, before the activation it served.
func TestSystemStepsShowUpgradeRestores(t *testing.T) {
	k := store.Key{Container: "postgresql-database", Component: "app"}
	other := store.Key{Container: "postgresql-database", Component: "shop"}
	act := system.Step{Step: deploy.Step{Key: k, Activity: module.Activate, Path: "/nix/store/x-app", Reason: deploy.Changed}}
	act2 := system.Step{Step: deploy.Step{Key: other, Activity: module.Activate, Path: "/nix/store/x-shop", Reason: deploy.Changed}}
	restore := system.Step{Step: deploy.Step{Key: k, Activity: module.Restore, Path: "/nix/store/x-app", Reason: deploy.Changed}, Detail: "pre-upgrade snapshot s"}
	got := systemSteps([]system.Step{act, act2}, []system.Step{restore, act})
	want := []systemStepJSON{
		{Activity: "restore", Container: k.Container, Component: "app", Path: "/nix/store/x-app", Reason: "changed", Detail: "pre-upgrade snapshot s", Done: true},
		{Activity: "activate", Container: k.Container, Component: "app", Path: "/nix/store/x-app", Reason: "changed", Done: true},
		{Activity: "activate", Container: k.Container, Component: "shop", Path: "/nix/store/x-shop", Reason: "changed", Done: false},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
}
