package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func key(c, comp string) store.Key { return store.Key{Container: c, Component: comp} }

// stepSummary is what the tests compare of a step.
type stepSummary struct {
	Activity module.Activity
	Key      string
	Path     string
	Reason   Reason
	OldPath  string
	Problem  bool
}

func summarize(steps []Step) []stepSummary {
	out := []stepSummary{}
	for _, s := range steps {
		out = append(out, stepSummary{s.Activity, s.Key.String(), s.Path, s.Reason, s.OldPath, s.Problem != nil})
	}
	return out
}

// TestDeployLifecycle deploys echo, fileset and external components from
// empty, again (nothing runs), after removing components (deactivated,
// marked garbage), then collects the garbage.
func TestDeployLifecycle(t *testing.T) {
	f := newFixture(t)
	f.container(t, "echo", "type=echo", `greeting="hello world"`)
	f.recorderContainer(t, "rec")
	f.container(t, "fileset", "type=fileset")
	a := f.component(t, "echo", "a", nil)
	b := f.component(t, "echo", "b", nil)
	x := f.component(t, "rec", "x", nil)
	y := f.component(t, "rec", "y", nil)
	web := filepath.Join(f.root, "srv", "web")
	w := f.component(t, "fileset", "web", map[string]string{
		".dysnomia-targetdir": web + "\n",
		".dysnomia-fileset":   "mkdir files\n",
	})

	// 1. From empty: everything is activated, in key order.
	p, err := f.deploy(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.report)
	}
	want := []stepSummary{
		{module.Activate, "echo/a", a, New, "", false},
		{module.Activate, "echo/b", b, New, "", false},
		{module.Activate, "fileset/web", w, New, "", false},
		{module.Activate, "rec/x", x, New, "", false},
		{module.Activate, "rec/y", y, New, "", false},
	}
	if d := cmp.Diff(want, summarize(p.Steps)); d != "" {
		t.Fatalf("first plan (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"activate " + x + " rec", "activate " + y + " rec"}, f.calls(t)); d != "" {
		t.Errorf("recorder calls (-want +got):\n%s", d)
	}
	for _, c := range []string{a, b} {
		if !strings.Contains(f.stdout.String(), "Echo module: Activate service: "+c+"\n") {
			t.Errorf("echo did not activate %s; stdout:\n%s", c, f.stdout.String())
		}
	}
	if !strings.Contains(f.stdout.String(), "greeting=hello world\n") {
		t.Errorf("echo did not get the container property; stdout:\n%s", f.stdout.String())
	}
	if fi, err := os.Stat(filepath.Join(web, "files")); err != nil || !fi.IsDir() {
		t.Errorf("fileset not activated: %v", err)
	}
	act, err := f.st.Activated()
	must(t, err)
	wantMarkers := []store.Marker{
		{Key: key("echo", "a"), ComponentPath: a, Type: "echo"},
		{Key: key("echo", "b"), ComponentPath: b, Type: "echo"},
		{Key: key("fileset", "web"), ComponentPath: w, Type: "fileset"},
		{Key: key("rec", "x"), ComponentPath: x, Type: "recorder"},
		{Key: key("rec", "y"), ComponentPath: y, Type: "recorder"},
	}
	if d := cmp.Diff(wantMarkers, act); d != "" {
		t.Errorf("markers after deploy (-want +got):\n%s", d)
	}

	// 2. Again: nothing to do, no module runs.
	f.stdout.Reset()
	f.report.take()
	p, err = f.deploy(t)
	must(t, err)
	if len(p.Steps) != 0 || len(p.Unchanged) != 5 {
		t.Errorf("second plan: %d steps, %d unchanged; want 0 and 5:\n%v", len(p.Steps), len(p.Unchanged), summarize(p.Steps))
	}
	if calls := f.calls(t); calls != nil {
		t.Errorf("second deploy invoked the external module: %q", calls)
	}
	if f.stdout.Len() != 0 {
		t.Errorf("second deploy ran a native module: %q", f.stdout.String())
	}
	if r := f.report.take(); len(r) != 0 {
		t.Errorf("second deploy reported steps: %q", r)
	}

	// 3. Remove echo/b, rec/y and the fileset: deactivated with their real
	// paths (not the marker files), and marked garbage.
	f.unlink(t, "echo", "b")
	f.unlink(t, "rec", "y")
	f.unlink(t, "fileset", "web")
	must(t, os.WriteFile(filepath.Join(web, "files", "data"), []byte("state"), 0o644))
	p, err = f.deploy(t)
	must(t, err)
	want = []stepSummary{
		{module.Deactivate, "echo/b", b, Removed, "", false},
		{module.Deactivate, "fileset/web", w, Removed, "", false},
		{module.Deactivate, "rec/y", y, Removed, "", false},
	}
	if d := cmp.Diff(want, summarize(p.Steps)); d != "" {
		t.Errorf("removal plan (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"deactivate " + y + " rec"}, f.calls(t)); d != "" {
		t.Errorf("recorder calls (-want +got):\n%s", d)
	}
	garbage, err := f.st.Garbage()
	must(t, err)
	wantGarbage := []store.Marker{
		{Key: key("echo", "b"), ComponentPath: b, Type: "echo"},
		{Key: key("fileset", "web"), ComponentPath: w, Type: "fileset"},
		{Key: key("rec", "y"), ComponentPath: y, Type: "recorder"},
	}
	if d := cmp.Diff(wantGarbage, garbage); d != "" {
		t.Errorf("garbage markers (-want +got):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(web, "files", "data")); err != nil {
		t.Errorf("deactivation lost the fileset's state: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.recState, "y")); err != nil {
		t.Errorf("deactivation lost the recorder's state: %v", err)
	}

	// 4. Collect garbage: each module gets the real path; the markers go.
	steps := Each(module.CollectGarbage, garbage, Garbage, func(k store.Key) (string, error) { return Find([]string{f.components}, k) })
	must(t, (&Executor{Invoker: f.invoker()}).Run(context.Background(), steps))
	if d := cmp.Diff([]string{"collect-garbage " + y + " rec"}, f.calls(t)); d != "" {
		t.Errorf("recorder calls (-want +got):\n%s", d)
	}
	if garbage, _ := f.st.Garbage(); len(garbage) != 0 {
		t.Errorf("garbage markers left: %v", garbage)
	}
	if _, err := os.Stat(filepath.Join(web, "files")); !os.IsNotExist(err) {
		t.Errorf("fileset state not collected: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.recState, "y")); !os.IsNotExist(err) {
		t.Errorf("recorder state not collected: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.recState, "x")); err != nil {
		t.Errorf("collect-garbage touched an active component: %v", err)
	}
	act, _ = f.st.Activated()
	if d := cmp.Diff([]store.Marker{wantMarkers[0], wantMarkers[3]}, act); d != "" {
		t.Errorf("markers at the end (-want +got):\n%s", d)
	}
}

// TestChangedPathIsReactivated: a component whose entry now points to
// another store path is activated again with the new path.
func TestChangedPathIsReactivated(t *testing.T) {
	f := newFixture(t)
	f.recorderContainer(t, "rec")
	old := f.component(t, "rec", "x", nil)
	_, err := f.deploy(t)
	must(t, err)
	f.calls(t)
	newPath := f.component(t, "rec", "x", map[string]string{"v2": ""})
	p, err := f.deploy(t)
	must(t, err)
	want := []stepSummary{{module.Activate, "rec/x", newPath, Changed, old, false}}
	if d := cmp.Diff(want, summarize(p.Steps)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"activate " + newPath + " rec"}, f.calls(t)); d != "" {
		t.Errorf("recorder calls (-want +got):\n%s", d)
	}
	act, _ := f.st.Activated()
	if len(act) != 1 || act[0].ComponentPath != newPath {
		t.Errorf("marker = %+v, want path %s", act, newPath)
	}
	if p := f.plan(t); len(p.Steps) != 0 {
		t.Errorf("after the upgrade the plan is not empty: %v", summarize(p.Steps))
	}
}

// TestFailureDoesNotStopOthers: a failing component is named, the others
// run, the module's status is kept, and the failed one is not marked.
func TestFailureDoesNotStopOthers(t *testing.T) {
	f := newFixture(t)
	f.recorderContainer(t, "rec", "failOn=activate", "failComponent=b")
	a := f.component(t, "rec", "a", nil)
	b := f.component(t, "rec", "b", nil)
	c := f.component(t, "rec", "c", nil)
	_, err := f.deploy(t)
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("deploy error = %v, want a FailedError", err)
	}
	if got, want := err.Error(), "1 of 3 steps failed: activate rec/b"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	var ee *module.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("module exit status not kept: %v", err)
	}
	if d := cmp.Diff([]string{"activate " + a + " rec", "activate " + b + " rec", "activate " + c + " rec"}, f.calls(t)); d != "" {
		t.Errorf("recorder calls (-want +got):\n%s", d)
	}
	act, _ := f.st.Activated()
	var names []string
	for _, m := range act {
		names = append(names, m.Key.String())
	}
	if d := cmp.Diff([]string{"rec/a", "rec/c"}, names); d != "" {
		t.Errorf("activated (-want +got):\n%s", d)
	}
	var warned bool
	for _, l := range f.report.take() {
		warned = warned || strings.HasPrefix(l, "warning: activate rec/b failed: ")
	}
	if !warned {
		t.Error("the failure of rec/b was not reported")
	}
	// The next deploy retries only the failed component.
	p := f.plan(t)
	if d := cmp.Diff([]stepSummary{{module.Activate, "rec/b", b, New, "", false}}, summarize(p.Steps)); d != "" {
		t.Errorf("retry plan (-want +got):\n%s", d)
	}
}

// TestContainerFileGone: a removed component whose container file has
// gone too is deactivated with the type recorded at activation.
func TestContainerFileGone(t *testing.T) {
	f := newFixture(t)
	f.container(t, "echo", "type=echo")
	a := f.component(t, "echo", "a", nil)
	_, err := f.deploy(t)
	must(t, err)
	must(t, os.Remove(filepath.Join(f.containers, "echo")))
	f.unlink(t, "echo", "a")
	f.stdout.Reset()
	_, err = f.deploy(t)
	must(t, err)
	if !strings.Contains(f.stdout.String(), "Echo module: Deactivate service: "+a+"\n") {
		t.Errorf("not deactivated; stdout:\n%s", f.stdout.String())
	}
	garbage, _ := f.st.Garbage()
	if len(garbage) != 1 || garbage[0].Key != key("echo", "a") {
		t.Errorf("garbage = %v", garbage)
	}
	var warned bool
	for _, l := range f.report.take() {
		warned = warned || strings.Contains(l, "container file of echo is gone")
	}
	if !warned {
		t.Error("no warning about the missing container file")
	}
}

// TestUpstreamMarkers: markers written by upstream Dysnomia are empty.
func TestUpstreamMarkers(t *testing.T) {
	f := newFixture(t)
	f.container(t, "echo", "type=echo")
	a := f.component(t, "echo", "a", nil)
	for _, comp := range []string{"a", "gone"} {
		p := filepath.Join(f.state, "activated", "echo", comp)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, nil, 0o644))
	}
	p := f.plan(t)
	want := []stepSummary{{module.Deactivate, "echo/gone", "", Removed, "", true}}
	if d := cmp.Diff(want, summarize(p.Steps)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]store.Key{key("echo", "a")}, p.Unchanged); d != "" {
		t.Errorf("unchanged (-want +got):\n%s", d)
	}
	err := (&Executor{Invoker: f.invoker()}).Run(context.Background(), p.Steps)
	if err == nil || !strings.Contains(f.report.String(), "records no component path") {
		t.Errorf("error = %v; report:\n%s", err, f.report.String())
	}
	if f.stdout.Len() != 0 {
		t.Errorf("a module ran: %s", f.stdout.String())
	}

	// A bulk activity finds an empty marker's component in the components
	// path; one that is not there fails with its name.
	act, _ := f.st.Activated()
	steps := Each(module.Snapshot, act, Activated, func(k store.Key) (string, error) { return Find([]string{f.components}, k) })
	if d := cmp.Diff([]stepSummary{
		{module.Snapshot, "echo/a", a, Activated, "", false},
		{module.Snapshot, "echo/gone", "", Activated, "", true},
	}, summarize(steps)); d != "" {
		t.Errorf("snapshot steps (-want +got):\n%s", d)
	}
	err = (&Executor{Invoker: f.invoker()}).Run(context.Background(), steps)
	if err == nil || err.Error() != "1 of 2 steps failed: snapshot echo/gone" {
		t.Errorf("error = %v", err)
	}
	if !strings.Contains(f.stdout.String(), "Echo module: Snapshot state of service: "+a+"\n") {
		t.Errorf("echo/a not snapshotted: %s", f.stdout.String())
	}
}

// TestAvailable covers several directories (first wins), entries whose
// name differs from their target's, dangling links and the container
// filter.
func TestAvailable(t *testing.T) {
	f := newFixture(t)
	a := f.component(t, "c1", "a", nil)
	other := filepath.Join(f.root, "components2")
	must(t, os.MkdirAll(filepath.Join(other, "c1"), 0o755))
	must(t, os.MkdirAll(filepath.Join(other, "c2"), 0o755))
	must(t, os.Symlink(filepath.Join(f.nixStore, "missing"), filepath.Join(other, "c1", "a"))) // shadowed
	plain := filepath.Join(other, "c2", "plain")
	must(t, os.MkdirAll(plain, 0o755))
	must(t, os.Symlink(a, filepath.Join(other, "c2", "alias")))
	must(t, os.Symlink(filepath.Join(f.nixStore, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-dangling"), filepath.Join(other, "c2", "dangling")))

	comps, warnings, err := Available([]string{f.components, other, filepath.Join(f.root, "nonexistent")}, "")
	must(t, err)
	type row struct{ Key, Path string }
	var got []row
	for _, c := range comps {
		got = append(got, row{c.Key.String(), c.Path})
	}
	want := []row{{"c1/a", a}, {"c2/a", a}, {"c2/dangling", ""}, {"c2/plain", plain}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("available (-want +got):\n%s", d)
	}
	if comps[2].Problem == nil {
		t.Error("dangling link has no problem")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "c2/alias points to "+a+": it is deployed as c2/a") {
		t.Errorf("warnings = %q", warnings)
	}

	comps, _, err = Available([]string{f.components, other}, "c2")
	must(t, err)
	if len(comps) != 3 || comps[0].Container != "c2" {
		t.Errorf("filtered: %+v", comps)
	}
}

// TestPlanFormat pins the dry-run rendering: deactivations first, then
// activations, each by key, in aligned columns.
func TestPlanFormat(t *testing.T) {
	avail := []Component{
		{Key: key("postgresql-database", "app"), Path: "/nix/store/h2-app"},
		{Key: key("echo", "new"), Path: "/nix/store/h3-new"},
		{Key: key("echo", "same"), Path: "/nix/store/h4-same"},
	}
	act := []store.Marker{
		{Key: key("postgresql-database", "app"), ComponentPath: "/nix/store/h1-app", Type: "postgresql-database"},
		{Key: key("echo", "same"), ComponentPath: "/nix/store/h4-same"},
		{Key: key("fileset", "old"), ComponentPath: "/nix/store/h0-old", Type: "fileset"},
		{Key: key("echo", "zzz"), ComponentPath: "/nix/store/h5-zzz"},
	}
	p := Compute(avail, act)
	var b bytes.Buffer
	must(t, p.Format(&b))
	want := "" +
		"deactivate  echo/zzz                 /nix/store/h5-zzz  removed\n" +
		"deactivate  fileset/old              /nix/store/h0-old  removed\n" +
		"activate    echo/new                 /nix/store/h3-new  new\n" +
		"activate    postgresql-database/app  /nix/store/h2-app  changed (was /nix/store/h1-app)\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("format (-want +got):\n%s", d)
	}
	// The same states in another order give the same plan.
	rev := append([]store.Marker(nil), act...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	p2 := Compute([]Component{avail[2], avail[0], avail[1]}, rev)
	if d := cmp.Diff(p, p2, cmpopts.EquateErrors()); d != "" {
		t.Errorf("plan depends on input order (-first +second):\n%s", d)
	}
}

// TestCancelledRunStartsNothing: after cancellation no step starts.
func TestCancelledRunStartsNothing(t *testing.T) {
	f := newFixture(t)
	f.recorderContainer(t, "rec")
	f.component(t, "rec", "a", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Executor{Invoker: f.invoker()}).Run(ctx, f.plan(t).Steps)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if calls := f.calls(t); calls != nil {
		t.Errorf("module ran after cancellation: %q", calls)
	}
}

// An entry of the components path whose name (or the name of what it
// points to) is not a valid name is left out with a warning quoting it:
// deploying it would make files named after it, and listing it would print
// it over two lines.
func TestInvalidComponentNamesAreSkipped(t *testing.T) {
	f := newFixture(t)
	f.recorderContainer(t, "rec")
	f.component(t, "rec", "good", nil)
	bad := f.component(t, "rec", "two\nlines", nil)
	f.link(t, "rec", "renamed", bad) // a fine entry name, pointing to a bad name
	comps, warnings, err := Available([]string{f.components}, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range comps {
		keys = append(keys, c.Key.String())
	}
	if diff := cmp.Diff([]string{"rec/good"}, keys); diff != "" {
		t.Errorf("available (-want +got):\n%s", diff)
	}
	if len(warnings) != 2 {
		t.Fatalf("warnings = %q, want one per skipped entry", warnings)
	}
	for _, w := range warnings {
		if strings.Contains(w, "\n") || !strings.Contains(w, `two\nlines`) {
			t.Errorf("warning %q does not quote the name on one line", w)
		}
	}
	if _, err := f.deploy(t); err != nil {
		t.Fatal(err)
	}
	if got := f.calls(t); len(got) != 1 {
		t.Errorf("module calls %q, want only the valid component's activation", got)
	}
}
