package system

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func TestSnapshotsOn(t *testing.T) {
	tests := []struct {
		action, onBoot string
		want           bool
		err            bool
	}{
		{"switch", "snapshot", true, false},
		{"switch", "skip", true, false},
		{"test", "snapshot", true, false},
		{"boot", "snapshot", true, false},
		{"boot", "skip", false, false},
		{"dry-activate", "snapshot", false, false},
		{"check", "snapshot", false, false},
		{"reboot", "snapshot", false, true},
		{"", "snapshot", false, true},
	}
	for _, tc := range tests {
		got, why, err := SnapshotsOn(tc.action, config.SnapshotPolicy{OnBoot: tc.onBoot})
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("SnapshotsOn(%q, onBoot %q) = %v, %v; want %v, error %v", tc.action, tc.onBoot, got, err, tc.want, tc.err)
		}
		if !got && err == nil && why == "" {
			t.Errorf("SnapshotsOn(%q, onBoot %q): no reason given for not snapshotting", tc.action, tc.onBoot)
		}
	}
}

func entry(c, name, path, pkg string, props ...config.Property) Entry {
	return Entry{Key: store.Key{Container: c, Component: name}, Path: path,
		Container: Container{Name: c, Type: "t-" + c, Properties: props, ServerPackage: pkg}}
}

func TestPreSwitchPlan(t *testing.T) {
	pg15, pg16 := "/nix/store/pg-15", "/nix/store/pg-16"
	running := []Entry{
		entry("pg", "app", "/c/app-1", pg15),
		entry("pg", "old", "/c/old", pg15),
		entry("pg", "idle", "/c/idle-1", pg15),
		entry("files", "web", "/c/web-1", ""),
		entry("files", "logs", "/c/logs", ""),
	}
	sameCandidate := []Entry{running[0], running[1], running[2], running[3], running[4]}
	upgraded := []Entry{
		entry("pg", "app", "/c/app-1", pg16),   // container changed
		entry("pg", "idle", "/c/idle-2", pg16), // changed, but not active
		entry("files", "web", "/c/web-2", ""),  // path changed
		entry("files", "logs", "/c/logs", ""),  // unchanged
		entry("files", "new", "/c/new", ""),    // new
		// pg/old removed
	}
	var activated []store.Marker
	for _, k := range []string{"pg/app", "pg/old", "files/web", "files/logs", "other/disnix"} {
		c, n, _ := strings.Cut(k, "/")
		activated = append(activated, store.Marker{Key: store.Key{Container: c, Component: n}})
	}
	lines := func(steps []Step) []string {
		out := []string{}
		for _, s := range steps {
			out = append(out, s.Key.String()+" "+string(s.Reason)+" ("+s.Detail+") with "+s.Entry.Path+" "+s.Entry.Container.ServerPackage)
		}
		return out
	}
	tests := []struct {
		name      string
		running   *Running
		candidate []Entry
		policy    string
		want      []string
	}{
		{"nothing changed", &Running{Entries: running, Known: true}, sameCandidate, "changed", []string{}},
		{"upgrade", &Running{Entries: running, Known: true}, upgraded, "changed", []string{
			"files/web changed (path) with /c/web-1 ",
			"pg/app changed (serverPackage /nix/store/pg-15 -> /nix/store/pg-16) with /c/app-1 /nix/store/pg-15",
			"pg/old removed (no longer declared) with /c/old /nix/store/pg-15",
		}},
		{"always", &Running{Entries: running, Known: true}, sameCandidate, "always", []string{
			"files/logs activated (snapshots.beforeUpgrade = always) with /c/logs ",
			"files/web activated (snapshots.beforeUpgrade = always) with /c/web-1 ",
			"pg/app activated (snapshots.beforeUpgrade = always) with /c/app-1 /nix/store/pg-15",
			"pg/old activated (snapshots.beforeUpgrade = always) with /c/old /nix/store/pg-15",
		}},
		{"never", &Running{Entries: running, Known: true}, upgraded, "never", []string{}},
		{"nothing known runs: every active declared component", &Running{}, upgraded, "changed", []string{
			"files/logs changed (active, but not applied by a system switch before) with /c/logs ",
			"files/web changed (active, but not applied by a system switch before) with /c/web-2 ",
			"pg/app changed (active, but not applied by a system switch before) with /c/app-1 /nix/store/pg-16",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lines(PreSwitchPlan(tc.running, tc.candidate, activated, tc.policy))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestPreSwitchRunsWithTheRunningContainer: the snapshot of a component
// whose container changes runs with the running container's properties
// (the old server is still the one up); failures abort or warn per policy.
func TestPreSwitchRunsWithTheRunningContainer(t *testing.T) {
	f := newFixture(t)
	f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1", "c": "v1"})))
	f.calls()
	// The candidate gives the container another owner and a new server
	// package, and drops c.
	cand := f.config(strings.Replace(recConfig(f, `, "x": "y"`, "", map[string]string{"a": "v1"}),
		`"owner": "container-owner"`, `"owner": "new-owner"`, 1))
	running, err := LoadRunning(f.state, "")
	if err != nil || !running.Known || running.Source != RecordFile(f.state) {
		t.Fatalf("LoadRunning = %+v, %v", running, err)
	}
	res, err := f.engine().PreSwitch(context.Background(), running, cand, "switch")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"snapshot a rec owner=container-owner", "snapshot c rec owner=container-owner"}, f.calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"snapshot rec/a changed (properties)", "snapshot rec/c removed (no longer declared)"}, stepLines(res.Done)); d != "" {
		t.Errorf("done (-want +got):\n%s", d)
	}

	// Nothing is done for the actions that change nothing, or on boot when
	// told so; an unknown action is an error.
	for _, action := range []string{"dry-activate", "check"} {
		res, err := f.engine().PreSwitch(context.Background(), running, cand, action)
		if err != nil || res.Skipped == "" {
			t.Errorf("%s: %+v, %v", action, res, err)
		}
	}
	cand.Snapshots.OnBoot = config.BootSkip
	if res, err := f.engine().PreSwitch(context.Background(), running, cand, "boot"); err != nil || res.Skipped == "" {
		t.Errorf("boot with onBoot skip: %+v, %v", res, err)
	}
	if _, err := f.engine().PreSwitch(context.Background(), running, cand, "restart"); err == nil {
		t.Error("unknown action accepted")
	}
	if calls := f.calls(); calls != nil {
		t.Errorf("calls for actions without snapshots: %v", calls)
	}

	// A failing snapshot aborts...
	f.failOn("snapshot:c")
	_, err = f.engine().PreSwitch(context.Background(), running, cand, "test")
	var fe *deploy.FailedError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "rec/c") || !strings.Contains(err.Error(), "aborted") {
		t.Errorf("failing snapshot with onFailure abort: %v", err)
	}
	f.calls()
	// ... or warns under onFailure = continue; the others are still taken.
	cand.Snapshots.OnFailure = config.FailureContinue
	res, err = f.engine().PreSwitch(context.Background(), running, cand, "switch")
	if err != nil || !errors.As(res.Failed, &fe) || len(res.Done) != 1 {
		t.Errorf("failing snapshot with onFailure continue: %+v, %v", res, err)
	}
}

// TestPreSwitchRetention takes real fileset snapshots: after each
// pre-switch, keep generations are left of the snapshotted component.
func TestPreSwitchRetention(t *testing.T) {
	f := newFixture(t)
	target := filepath.Join(f.root, "srv")
	comp := f.component("v1", "files")
	for name, content := range map[string]string{".dysnomia-targetdir": target, ".dysnomia-fileset": "mkdir data\n"} {
		if err := os.WriteFile(filepath.Join(comp, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	js := `{"version": 1, "containers": {"fs": {"type": "fileset"}},
		"components": {"fs": {"files": {"path": "{{comps}}/v1/files"}}},
		"snapshots": {"beforeUpgrade": "always", "keep": 2}}`
	cfg := f.config(js)
	f.mustSwitch(cfg)
	key := store.Key{Container: "fs", Component: "files"}
	st := store.Open(f.state)
	for i := 1; i <= 4; i++ {
		if err := os.WriteFile(filepath.Join(target, "data", "n"), []byte(strings.Repeat("x", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		running, err := LoadRunning(f.state, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.engine().PreSwitch(context.Background(), running, cfg, "switch")
		if err != nil {
			t.Fatalf("pre-switch %d: %v\n%s", i, err, f.report)
		}
		gens, err := st.Generations(key)
		if err != nil {
			t.Fatal(err)
		}
		want := min(i, 2)
		if len(gens) != want {
			t.Errorf("after pre-switch %d: %d generations, want %d", i, len(gens), want)
		}
		if wantPruned := min(i-1, 2) + 1 - want; res.Pruned != wantPruned { // generations before, plus the new one, minus those kept
			t.Errorf("after pre-switch %d: pruned %d, want %d", i, res.Pruned, wantPruned)
		}
	}
	// The latest generation holds the latest data.
	sn, ok, err := st.Latest(key)
	if err != nil || !ok {
		t.Fatalf("latest: %v %v", ok, err)
	}
	if err := st.Verify(sn); err != nil {
		t.Error(err)
	}
}

// TestLoadRunning: the applied record wins over the running config file,
// which is used when no switch has run; with neither nothing is known.
func TestLoadRunning(t *testing.T) {
	f := newFixture(t)
	current := filepath.Join(f.root, "current.json")
	js := strings.NewReplacer("{{log}}", f.log, "{{fail}}", f.fail, "{{comps}}", f.comps, "{{state}}", f.state).
		Replace(recConfig(f, "", "", map[string]string{"a": "v1", "b": "v1"}))
	if err := os.WriteFile(current, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRunning(f.state, filepath.Join(f.root, "missing.json"))
	if err != nil || r.Known {
		t.Errorf("nothing: %+v, %v", r, err)
	}
	r, err = LoadRunning(f.state, current)
	if err != nil || !r.Known || r.Source != current || len(r.Entries) != 2 {
		t.Errorf("running config: %+v, %v", r, err)
	}
	f.mustSwitch(f.config(recConfig(f, "", "", map[string]string{"a": "v1"})))
	r, err = LoadRunning(f.state, current)
	if err != nil || !r.Known || r.Source != RecordFile(f.state) || len(r.Entries) != 1 {
		t.Errorf("applied record: %+v, %v", r, err)
	}
	if err := os.WriteFile(RecordFile(f.state), []byte(`{"version": 1, "components": [{"container": "x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRunning(f.state, current); err == nil || !strings.Contains(err.Error(), "applied record") {
		t.Errorf("broken record: %v", err)
	}
}
