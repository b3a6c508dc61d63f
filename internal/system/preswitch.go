package system

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// ConfigInToplevel is where a NixOS system carries its system config,
// relative to its toplevel (the NixOS module puts it there).
const ConfigInToplevel = "etc/dysnomia/system.json"

// CurrentConfig is the running NixOS system's config.
const CurrentConfig = "/run/current-system/" + ConfigInToplevel

// CandidateFile is the config of the system at toplevel.
func CandidateFile(toplevel string) string { return filepath.Join(toplevel, ConfigInToplevel) }

// Running is what runs now, as pre-switch sees it.
type Running struct {
	Entries []Entry
	Known   bool   // false: neither an applied record nor a running config exists
	Source  string // where Entries come from
}

// LoadRunning finds what is applied in stateDir: the applied record when a
// switch has written one (it says exactly what was applied, failures
// excluded), otherwise the running system's config file currentFile (when
// it exists), otherwise nothing known.
func LoadRunning(stateDir, currentFile string) (*Running, error) {
	rec, ok, err := LoadRecord(stateDir)
	if err != nil {
		return nil, err
	}
	if ok {
		return &Running{Entries: rec.Entries, Known: true, Source: RecordFile(stateDir)}, nil
	}
	if currentFile == "" {
		return &Running{}, nil
	}
	cfg, err := config.LoadSystem(currentFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &Running{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the running system's config: %w", err)
	}
	return &Running{Entries: Entries(cfg), Known: true, Source: currentFile}, nil
}

// The activation actions of switch-to-configuration.
const (
	ActionSwitch      = "switch"
	ActionBoot        = "boot"
	ActionTest        = "test"
	ActionDryActivate = "dry-activate"
	ActionCheck       = "check"
)

// SnapshotsOn says whether pre-switch takes snapshots for action:
//
//   - switch and test activate the new system now: yes, per the policy;
//   - boot makes the new system the default at the next boot, with no hook
//     left to run before its servers start on the old data (a new
//     PostgreSQL may upgrade it on start), so this is the last moment the
//     old servers are up: yes by default; snapshots.onBoot = "skip" says no;
//   - dry-activate and check change nothing: no.
//
// Any other action is an error. why explains a "no".
func SnapshotsOn(action string, pol config.SnapshotPolicy) (yes bool, why string, err error) {
	switch action {
	case ActionSwitch, ActionTest:
		return true, "", nil
	case ActionBoot:
		if pol.OnBoot == config.BootSkip {
			return false, `action "boot" with snapshots.onBoot = "skip"`, nil
		}
		return true, "", nil
	case ActionDryActivate, ActionCheck:
		return false, fmt.Sprintf("action %q changes nothing", action), nil
	}
	return false, "", fmt.Errorf("unknown action %q: want switch, boot, test, dry-activate or check", action)
}

// PreSwitchPlan lists the snapshots pre-switch takes before a switch from
// running to candidate, per policy:
//
//   - config.BeforeChanged: every active component that the switch will
//     touch (see PlanSwitch): removed, declared with another path,
//     container (type, properties, secret files, server package) or
//     component properties, or active but not applied by a switch — which
//     is every active declared component when nothing running is known;
//   - config.BeforeAlways: every active component, declared or running;
//   - config.BeforeNever: none.
//
// A component is snapshotted with the container it runs in now (the
// running one when known): the old servers are still up.
func PreSwitchPlan(running *Running, candidate []Entry, activated []store.Marker, policy string) []Step {
	if policy == config.BeforeNever {
		return nil
	}
	active := map[store.Key]bool{}
	for _, m := range activated {
		active[m.Key] = true
	}
	now := byKey(running.Entries)
	snap := func(e Entry, reason deploy.Reason, detail string) Step {
		if r, ok := now[e.Key]; ok {
			e = r
		}
		return Step{Step: deploy.Step{Key: e.Key, Activity: module.Snapshot, Path: e.Path, Reason: reason, Type: e.Container.Type}, Detail: detail, Entry: e}
	}
	var steps []Step
	if policy == config.BeforeAlways {
		all := byKey(candidate)
		for _, e := range running.Entries {
			if _, ok := all[e.Key]; !ok {
				all[e.Key] = e
			}
		}
		var es []Entry
		for _, e := range all {
			if active[e.Key] {
				es = append(es, e)
			}
		}
		sortEntries(es)
		for _, e := range es {
			steps = append(steps, snap(e, deploy.Activated, "snapshots.beforeUpgrade = always"))
		}
		return steps
	}
	seen := map[store.Key]bool{}
	for _, s := range PlanSwitch(candidate, running.Entries, activated, config.RemovedKeep).Steps {
		if seen[s.Key] || !active[s.Key] {
			continue
		}
		seen[s.Key] = true
		steps = append(steps, snap(s.Entry, s.Reason, s.Detail))
	}
	sortSteps(steps)
	return steps
}

func sortSteps(steps []Step) {
	for i := 1; i < len(steps); i++ {
		for j := i; j > 0 && less(steps[j].Key, steps[j-1].Key); j-- {
			steps[j], steps[j-1] = steps[j-1], steps[j]
		}
	}
}

// PreSwitchResult is what a pre-switch did.
type PreSwitchResult struct {
	Skipped string // why nothing was considered (action, policy); "" otherwise
	Steps   []Step // the planned snapshots
	Done    []Step // the snapshots taken
	Failed  error  // a *deploy.FailedError when snapshots failed and onFailure = continue
	Pruned  int    // generations removed by retention
	// Protects are the snapshots taken for a server change or a removal,
	// as recorded in TakenFile for the switch.
	Protects []Taken
	// Kept are server changes whose snapshot an earlier pre-switch took
	// and whose new server already runs without the data (a switch that
	// did not complete): not snapshotted again, the snapshot is kept.
	Kept []Taken
}

// PreSwitch takes the snapshots the candidate's policy asks for before a
// switch with action. Planning reads only the configs, the applied record
// and the markers: when nothing is affected no module runs and no server
// is contacted. A failed snapshot makes PreSwitch return an error that
// aborts the switch, unless snapshots.onFailure is "continue": then the
// failure is in the result, as a warning. After the snapshots, retention
// keeps snapshots.keep generations of each component that was snapshotted
// (0 keeps all).
//
// For each snapshot taken for a server change or a removal, PreSwitch
// records in TakenFile which snapshot protects which change, so that the
// switch (now, or at the next boot) restores exactly that snapshot into a
// new server, or retires a removed component whose server is gone. A
// component whose change an earlier pre-switch recorded, and whose server
// now holds nothing of it (the new server already runs: a switch that did
// not complete), is not snapshotted again: that would replace its data by
// the empty database.
func (e *Engine) PreSwitch(ctx context.Context, running *Running, candidate *config.System, action string) (*PreSwitchResult, error) {
	pol := candidate.Snapshots
	res := &PreSwitchResult{}
	yes, why, err := SnapshotsOn(action, pol)
	if err != nil {
		return nil, err
	}
	if !yes {
		res.Skipped = why
		return res, nil
	}
	if pol.BeforeUpgrade == config.BeforeNever {
		res.Skipped = `snapshots.beforeUpgrade = "never"`
		return res, nil
	}
	st := e.Invoker.Store
	markers, err := st.Activated()
	if err != nil {
		return nil, fmt.Errorf("read the activated components in %s: %w", st.Dir(), err)
	}
	res.Steps = PreSwitchPlan(running, Entries(candidate), markers, pol.BeforeUpgrade)
	if len(res.Steps) == 0 {
		return res, nil
	}
	unlock, err := e.lock(ctx, "system pre-switch")
	if err != nil {
		return nil, err
	}
	defer unlock()
	taken, err := LoadTaken(st.Dir())
	if err != nil {
		return nil, err
	}
	now, cand := byKey(running.Entries), byKey(Entries(candidate))
	var steps []Step
	for _, s := range res.Steps {
		if t, ok := e.pendingUpgrade(ctx, s, now, cand, taken); ok {
			res.Kept = append(res.Kept, t)
			continue
		}
		steps = append(steps, s)
	}
	done, failedKeys, runErr := e.run(ctx, steps)
	res.Done = done
	for _, s := range done {
		r, known := now[s.Key]
		c, declared := cand[s.Key]
		ch := changeOf(r, c, declared)
		if !known || ch == "" {
			continue
		}
		sn, ok, err := st.Latest(s.Key)
		if err != nil || !ok {
			e.report().Warnf("pre-switch: cannot find the snapshot of %s just taken (%v): the switch will not restore it by itself", s.Key, err)
			continue
		}
		t := Taken{Key: s.Key, Snapshot: sn.ID, Change: ch, OldServer: r.Container.ServerPackage, Time: time.Now().UTC()}
		if ch == ChangeServer {
			t.NewServer = c.Container.ServerPackage
		}
		taken.put(t)
		res.Protects = append(res.Protects, t)
	}
	for k := range failedKeys {
		taken.remove(k)
	}
	taken.prune(running.Entries)
	if err := taken.Save(st.Dir()); err != nil {
		return res, errors.Join(runErr, err)
	}
	if pol.Keep > 0 {
		for _, s := range done {
			gc, err := st.GC(ctx, store.Selection{Container: s.Container, Component: s.Component}, pol.Keep)
			if err != nil {
				e.report().Warnf("retention of %s (keep %d generations): %v", s.Key, pol.Keep, err)
				continue
			}
			res.Pruned += len(gc.Generations)
		}
	}
	if runErr != nil {
		var fe *deploy.FailedError
		errors.As(runErr, &fe)
		if pol.OnFailure == config.FailureContinue {
			res.Failed = runErr
			return res, nil
		}
		return res, fmt.Errorf("%w; the switch is aborted before anything changed (set snapshots.onFailure = \"continue\" to switch without these snapshots)", snapshotFailure(fe))
	}
	return res, nil
}

// pendingUpgrade reports a server change of s's component that an earlier
// pre-switch recorded, from the server it runs on as applied, when the
// server now holds nothing of the component (the module is a
// module.Prober and finds it absent or empty): the new server already
// runs. The record's snapshot is then kept, for the new candidate.
func (e *Engine) pendingUpgrade(ctx context.Context, s Step, now, cand map[store.Key]Entry, taken *TakenRecord) (Taken, bool) {
	r, known := now[s.Key]
	c, declared := cand[s.Key]
	t, ok := taken.get(s.Key)
	if !known || !ok || t.Change != ChangeServer || t.OldServer != r.Container.ServerPackage || changeOf(r, c, declared) != ChangeServer {
		return t, false
	}
	req, m, err := e.Invoker.PrepareContainer(module.Snapshot, r.Module(), r.Path)
	if err != nil {
		return t, false
	}
	prober, ok := m.(module.Prober)
	if !ok {
		return t, false
	}
	state, err := prober.Probe(ctx, req)
	if err != nil || state == module.StateHasData {
		return t, false
	}
	t.NewServer = c.Container.ServerPackage
	taken.put(t)
	e.report().Infof("pre-switch: not snapshotting %s again: its server has %s (a switch to %s did not complete); keeping pre-upgrade snapshot %s, taken %s",
		s.Key, holds(state), config.NameOf(t.NewServer), t.Snapshot, t.Time.UTC().Format("2006-01-02 15:04:05Z"))
	return t, true
}

// snapshotFailure names the components whose snapshot failed.
func snapshotFailure(fe *deploy.FailedError) error {
	names := make([]string, len(fe.Failed))
	for i, f := range fe.Failed {
		names[i] = f.Step.Key.String()
	}
	return &preSwitchError{fe: fe, msg: fmt.Sprintf("pre-switch snapshot failed for %s", strings.Join(names, ", "))}
}

type preSwitchError struct {
	fe  *deploy.FailedError
	msg string
}

func (e *preSwitchError) Error() string { return e.msg }
func (e *preSwitchError) Unwrap() error { return e.fe }
