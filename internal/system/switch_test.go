package system

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

const recContainer = `"rec": {"type": "recorder", "properties": {"log": "{{log}}", "failFile": "{{fail}}", "owner": "container-owner"%s}}`

// recConfig is a config with the recorder container rec (extra container
// properties in extra) and the components given as "name": "version dir".
func recConfig(f *fixture, extra, garbage string, comps map[string]string) string {
	var cs []string
	for _, name := range sortedKeys(comps) {
		v := comps[name]
		props := ""
		if name == "b" {
			props = `, "properties": {"owner": "b-owner"}`
		}
		f.component(v, name)
		cs = append(cs, `"`+name+`": {"path": "{{comps}}/`+v+`/`+name+`"`+props+`}`)
	}
	g := ""
	if garbage != "" {
		g = `, "garbage": {"removed": "` + garbage + `"}`
	}
	return `{"version": 1, "stateDir": "{{state}}", "containers": {` + strings.Replace(recContainer, "%s", extra, 1) + `},
		"components": {"rec": {` + strings.Join(cs, ", ") + `}}` + g + `}`
}

func TestSwitchLifecycle(t *testing.T) {
	f := newFixture(t)
	check := func(what string, got, want []string) {
		t.Helper()
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", what, d)
		}
	}

	// First switch: everything is new.
	res := f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1", "b": "v1"})))
	check("first switch: calls", f.calls(), []string{"activate a rec owner=container-owner", "activate b rec owner=b-owner"})
	check("first switch: steps", stepLines(res.Done), []string{"activate rec/a new", "activate rec/b new"})
	check("first switch: record", f.record(), []string{"rec/a v1/a", "rec/b v1/b"})
	check("first switch: active", f.markers("activated"), []string{"rec/a", "rec/b"})
	if !res.RecordChanged || !res.ViewsChanged {
		t.Errorf("first switch: record changed %v, views changed %v; want both", res.RecordChanged, res.ViewsChanged)
	}

	// Second switch, same config: no module call, nothing rewritten.
	res = f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1", "b": "v1"})))
	check("no-op switch: calls", f.calls(), nil)
	check("no-op switch: steps", stepLines(res.Plan.Steps), []string{})
	if len(res.Plan.Unchanged) != 2 || res.RecordChanged || res.ViewsChanged {
		t.Errorf("no-op switch: unchanged %v, record changed %v, views changed %v", res.Plan.Unchanged, res.RecordChanged, res.ViewsChanged)
	}

	// A new version of a, and a new component c.
	res = f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v2", "b": "v1", "c": "v1"})))
	check("upgrade: calls", f.calls(), []string{"activate a rec owner=container-owner", "activate c rec owner=container-owner"})
	check("upgrade: steps", stepLines(res.Done), []string{"activate rec/a changed (path)", "activate rec/c new"})
	check("upgrade: record", f.record(), []string{"rec/a v2/a", "rec/b v1/b", "rec/c v1/c"})
	if got := res.Done[0].OldPath; got != filepath.Join(f.comps, "v1/a") {
		t.Errorf("upgrade: old path %q", got)
	}

	// A changed container property re-activates the container's components.
	res = f.mustSwitch(f.config(recConfig(f, `, "mode": "fast"`, "", map[string]string{"a": "v2", "b": "v1", "c": "v1"})))
	check("container change: steps", stepLines(res.Done), []string{
		"activate rec/a changed (properties)", "activate rec/b changed (properties)", "activate rec/c changed (properties)"})
	f.calls()

	// Removing b: snapshot first, then deactivate; its state is kept.
	res = f.mustSwitch(f.config(recConfig(f, `, "mode": "fast"`, "", map[string]string{"a": "v2", "c": "v1"})))
	check("removal: calls", f.calls(), []string{"snapshot b rec owner=b-owner", "deactivate b rec owner=b-owner"})
	check("removal: steps", stepLines(res.Done), []string{"snapshot rec/b removed (no longer declared)", "deactivate rec/b removed (no longer declared)"})
	check("removal: active", f.markers("activated"), []string{"rec/a", "rec/c"})
	check("removal: garbage", f.markers("garbage"), []string{"rec/b"})
	check("removal: record", f.record(), []string{"rec/a v2/a", "rec/c v1/c"})

	// Under garbage.removed = "delete", the state goes at once.
	res = f.mustSwitch(f.config(recConfig(f, `, "mode": "fast"`, "delete", map[string]string{"a": "v2"})))
	check("delete: calls", f.calls(), []string{"snapshot c rec owner=container-owner", "deactivate c rec owner=container-owner", "collect-garbage c rec owner=container-owner"})
	check("delete: steps", stepLines(res.Done), []string{
		"snapshot rec/c removed (no longer declared)", "deactivate rec/c removed (no longer declared)", "collect-garbage rec/c garbage (no longer declared)"})
	check("delete: active", f.markers("activated"), []string{"rec/a"})
	check("delete: garbage", f.markers("garbage"), []string{"rec/b"})
	check("delete: record", f.record(), []string{"rec/a v2/a"})

	// b comes back: activated again (the module un-garbages it).
	res = f.mustSwitch(f.config(recConfig(f, `, "mode": "fast"`, "", map[string]string{"a": "v2", "b": "v1"})))
	check("re-add: steps", stepLines(res.Done), []string{"activate rec/b new"})
	check("re-add: active", f.markers("activated"), []string{"rec/a", "rec/b"})
	check("re-add: garbage", f.markers("garbage"), []string{})
}

func TestSwitchFailures(t *testing.T) {
	f := newFixture(t)
	three := map[string]string{"a": "v1", "b": "v1", "c": "v1"}

	// b fails to activate: a and c still proceed; the record leaves b out.
	f.failOn("activate:b")
	res, err := f.switchTo(f.config(recConfig(f, "", "", three)))
	var fe *deploy.FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 1 || fe.Failed[0].Step.Key.String() != "rec/b" {
		t.Fatalf("switch with a failing component: err = %v, want a FailedError naming rec/b", err)
	}
	if !strings.Contains(err.Error(), "activate rec/b") {
		t.Errorf("error %q does not name the failed step", err)
	}
	if d := cmp.Diff([]string{"activate rec/a new", "activate rec/c new"}, stepLines(res.Done)); d != "" {
		t.Errorf("done (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"rec/a v1/a", "rec/c v1/c"}, f.record()); d != "" {
		t.Errorf("record claims what failed (-want +got):\n%s", d)
	}
	f.calls()

	// Fixed: only b is activated.
	f.failOn()
	f.mustSwitch(f.config(recConfig(f, "", "", three)))
	if d := cmp.Diff([]string{"activate b rec owner=b-owner"}, f.calls()); d != "" {
		t.Errorf("retry (-want +got):\n%s", d)
	}

	// A new version of a that fails to activate: the record keeps v1.
	f.failOn("activate:a")
	if _, err := f.switchTo(f.config(recConfig(f, "", "", map[string]string{"a": "v2", "b": "v1", "c": "v1"}))); err == nil {
		t.Fatal("switch with a failing upgrade succeeded")
	}
	if d := cmp.Diff([]string{"rec/a v1/a", "rec/b v1/b", "rec/c v1/c"}, f.record()); d != "" {
		t.Errorf("record after a failed upgrade (-want +got):\n%s", d)
	}
	f.calls()
	f.failOn()

	// Removing a whose snapshot fails: a is not deactivated, stays active
	// and in the record; c is removed all the same.
	f.failOn("snapshot:a")
	_, err = f.switchTo(f.config(recConfig(f, "", "", map[string]string{"b": "v1"})))
	if !errors.As(err, &fe) {
		t.Fatalf("removal with a failing snapshot: err = %v", err)
	}
	names := []string{}
	for _, s := range fe.Failed {
		names = append(names, string(s.Step.Activity)+" "+s.Step.Key.String())
	}
	if d := cmp.Diff([]string{"snapshot rec/a", "deactivate rec/a"}, names); d != "" {
		t.Errorf("failed steps (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"snapshot a rec owner=container-owner", "snapshot c rec owner=container-owner", "deactivate c rec owner=container-owner"}, f.calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"rec/a", "rec/b"}, f.markers("activated")); d != "" {
		t.Errorf("active (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"rec/a v1/a", "rec/b v1/b"}, f.record()); d != "" {
		t.Errorf("record (-want +got):\n%s", d)
	}

	// Fixed: the removal of a is retried.
	f.failOn()
	res = f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"b": "v1"})))
	if d := cmp.Diff([]string{"snapshot rec/a removed (no longer declared)", "deactivate rec/a removed (no longer declared)"}, stepLines(res.Done)); d != "" {
		t.Errorf("retried removal (-want +got):\n%s", d)
	}
}

func TestSwitchDryRun(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(recConfig(f, "", "", map[string]string{"a": "v1", "b": "v1"}))
	res, err := f.engine().Switch(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"activate rec/a new", "activate rec/b new"}, stepLines(res.Plan.Steps)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if calls := f.calls(); calls != nil {
		t.Errorf("dry run called modules: %v", calls)
	}
	if _, err := os.Stat(f.state); !os.IsNotExist(err) {
		t.Errorf("dry run created the state directory (%v)", err)
	}
}

// TestSwitchLeavesOthersAlone: components activated by other means (Disnix,
// by hand) that the config never declared are not removed.
func TestSwitchLeavesOthersAlone(t *testing.T) {
	f := newFixture(t)
	st := store.Open(f.state)
	other := f.component("v1", "other")
	if err := st.RecordActive(store.Key{Container: "rec", Component: "other"}, other, "recorder"); err != nil {
		t.Fatal(err)
	}
	f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1"})))
	f.calls()
	res := f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{})))
	if d := cmp.Diff([]string{"snapshot rec/a removed (no longer declared)", "deactivate rec/a removed (no longer declared)"}, stepLines(res.Done)); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"rec/other"}, f.markers("activated")); d != "" {
		t.Errorf("active (-want +got):\n%s", d)
	}
}

// TestSwitchAdoptsAndForgets: an active component that no switch applied is
// activated again (its container may differ from what activated it); an
// applied component that was deactivated by other means and is no longer
// declared is dropped from the record without a module call.
func TestSwitchAdoptsAndForgets(t *testing.T) {
	f := newFixture(t)
	st := store.Open(f.state)
	a := f.component("v1", "a")
	if err := st.RecordActive(store.Key{Container: "rec", Component: "a"}, a, "recorder"); err != nil {
		t.Fatal(err)
	}
	res := f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1", "b": "v1"})))
	if d := cmp.Diff([]string{"activate rec/a changed (active, but not applied by a system switch before)", "activate rec/b new"}, stepLines(res.Done)); d != "" {
		t.Errorf("adopt (-want +got):\n%s", d)
	}
	f.calls()
	if err := st.MarkGarbage(store.Key{Container: "rec", Component: "b"}); err != nil {
		t.Fatal(err)
	}
	res = f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1"})))
	if calls := f.calls(); calls != nil {
		t.Errorf("forgetting called modules: %v", calls)
	}
	if d := cmp.Diff([]store.Key{{Container: "rec", Component: "b"}}, res.Plan.Forgotten); d != "" {
		t.Errorf("forgotten (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"rec/a v1/a"}, f.record()); d != "" {
		t.Errorf("record (-want +got):\n%s", d)
	}
}

// TestSwitchSecretsStayOut: a secret file's path reaches the module, its
// content goes nowhere: not in the state directory, not in any output.
func TestSwitchSecretsStayOut(t *testing.T) {
	f := newFixture(t)
	secret := "s3cr3t-Pa55w0rd-" + filepath.Base(f.root)
	secretFile := filepath.Join(f.root, "keys", "pw")
	if err := os.MkdirAll(filepath.Dir(secretFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The recorder logs the secret file's path and its first line's length,
	// to show it could read it.
	mod := `#!/bin/sh
echo "$1 $(basename "$2") pw=$pwFile len=$(head -n1 "$pwFile" | wc -c)" >> "$log"
`
	if err := os.WriteFile(filepath.Join(f.modules, "reader"), []byte(mod), 0o755); err != nil {
		t.Fatal(err)
	}
	f.component("v1", "a")
	js := `{"version": 1, "containers": {"r": {"type": "reader", "properties": {"log": "{{log}}"}, "secretFiles": {"pwFile": "` + secretFile + `"}}},
		"components": {"r": {"a": {"path": "{{comps}}/v1/a"}}}}`
	f.mustSwitch(f.config(js))
	f.mustSwitch(f.config(`{"version": 1, "containers": {"r": {"type": "reader", "properties": {"log": "{{log}}"}, "secretFiles": {"pwFile": "` + secretFile + `"}}}}`))
	want := []string{
		"activate a pw=" + secretFile + " len=" + strconv.Itoa(len(secret)+1),
		"snapshot a pw=" + secretFile + " len=" + strconv.Itoa(len(secret)+1),
		"deactivate a pw=" + secretFile + " len=" + strconv.Itoa(len(secret)+1),
	}
	if d := cmp.Diff(want, f.calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	assertNoSecret(t, f.state, secret)
	for what, s := range map[string]string{"module output": f.out.String(), "report": f.report.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("the secret appears in the %s", what)
		}
	}
	data, err := os.ReadFile(filepath.Join(ViewsDir(f.state), "containers", "r"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), secretFile) {
		t.Errorf("container view does not name the secret file:\n%s", data)
	}
}

// assertNoSecret fails when any file below dir (symlink targets included)
// contains secret.
func assertNoSecret(t *testing.T, dir, secret string) {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n++
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			if strings.Contains(target, secret) {
				t.Errorf("symlink %s names the secret", p)
			}
			return nil
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), secret) {
				t.Errorf("%s contains the secret", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d entries below %s: the check looked at nothing", n, dir)
	}
}

// TestSwitchLocked: a second switch or pre-switch on the same state
// directory waits for the first, and gives up with a LockedError.
func TestSwitchLocked(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(recConfig(f, "", "", map[string]string{"a": "v1"}))
	unlock, err := store.Open(Dir(f.state)).Lock(context.Background(), "test holder")
	if err != nil {
		t.Fatal(err)
	}
	eng := f.engine()
	eng.Invoker.Store.LockTimeout = 0
	_, err = eng.Switch(context.Background(), cfg, false)
	var le *store.LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "test holder") {
		t.Errorf("switch while locked: %v", err)
	}
	if calls := f.calls(); calls != nil {
		t.Errorf("a locked switch called modules: %v", calls)
	}
	// A dry run reads only.
	if _, err := eng.Switch(context.Background(), cfg, true); err != nil {
		t.Errorf("dry run while locked: %v", err)
	}
	unlock()
	f.mustSwitch(cfg)
}

// Everything a switch writes into the state directory — the record, the
// views, the lock, the markers, and the state directory itself — is
// private, whatever the umask.
func TestSwitchWritesPrivately(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	f := newFixture(t)
	f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1"})))
	var loose []string
	filepath.WalkDir(f.state, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := d.Info(); d.Type()&fs.ModeSymlink == 0 && fi.Mode().Perm()&0o077 != 0 {
			loose = append(loose, fmt.Sprintf("%s %04o", p, fi.Mode().Perm()))
		}
		return nil
	})
	if len(loose) != 0 {
		t.Errorf("entries other users can read: %v", loose)
	}
}
