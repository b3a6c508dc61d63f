package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/system"
)

// SystemCmd holds the NixOS entry points: check, switch and pre-switch of a
// JSON system config (docs/system-config.md).
type SystemCmd struct {
	Check     SystemCheckCmd     `cmd:"" help:"Validate a system config: print nothing and exit 0, or print every problem (one per line, with its JSON path) and exit 1. Needs no state directory, server or root."`
	Switch    SystemSwitchCmd    `cmd:"" help:"Bring the machine to the state the config declares: activate new and changed components, snapshot and deactivate removed ones, leave unchanged ones alone, render the upstream views. Prints what it did, sorted."`
	PreSwitch SystemPreSwitchCmd `cmd:"" name:"pre-switch" help:"Before NixOS switches to NEW_TOPLEVEL with ACTION (switch, boot, test, dry-activate, check): snapshot the active components the switch will affect, per the candidate's snapshot policy (the system.preSwitchChecks entry point)."`
}

// SystemCheckCmd validates a config.
type SystemCheckCmd struct {
	File   string `arg:"" optional:"" placeholder:"FILE" help:"The system config."`
	Config string `name:"config" placeholder:"FILE" help:"The system config (instead of FILE)."`
	JSON   bool   `name:"json" help:"Print JSON (docs/json.md): {version, file, ok, problems}."`
}

// Run implements the command.
func (c *SystemCheckCmd) Run(app *App) error {
	file := c.File
	switch {
	case file == "" && c.Config == "":
		return errors.New("system check: no config given: dysnomia system check FILE")
	case file != "" && c.Config != "" && file != c.Config:
		return fmt.Errorf("system check: two configs given (%s and --config %s): check one at a time", file, c.Config)
	case file == "":
		file = c.Config
	}
	_, err := config.LoadSystem(file)
	var se *config.SystemError
	if c.JSON && (err == nil || errors.As(err, &se)) {
		doc := systemCheckJSON{Version: jsonVersion, File: file, OK: err == nil, Problems: []string{}}
		if se != nil {
			for _, p := range se.Problems {
				doc.Problems = append(doc.Problems, p.String())
			}
		}
		if jerr := writeJSON(app.Stdout, doc); jerr != nil {
			return jerr
		}
		if se != nil {
			return fmt.Errorf("%s: %d problem(s)", file, len(se.Problems))
		}
		return nil
	}
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			if _, werr := fmt.Fprintf(app.Stdout, "%s: %s\n", file, p); werr != nil {
				return werr
			}
		}
		return fmt.Errorf("%s: %d problem(s)", file, len(se.Problems))
	}
	return err
}

// SystemSwitchCmd applies a config.
type SystemSwitchCmd struct {
	Config string `name:"config" required:"" placeholder:"FILE" help:"The system config."`
	DryRun bool   `name:"dry-run" help:"Print what would be done (one step per line, sorted) and change nothing."`
	JSON   bool   `name:"json" help:"Print JSON instead of the steps (docs/json.md): {version, dryRun, steps: [{activity, container, component, path, reason, detail, done}], unchanged, forgotten, error}; module output goes to standard error."`
}

// Run implements the command.
func (c *SystemSwitchCmd) Run(ctx context.Context, app *App) error {
	cfg, err := config.LoadSystem(c.Config)
	if err != nil {
		return err
	}
	iv, err := app.withStateDir(cfg.StateDir).Invoker()
	if err != nil {
		return err
	}
	if c.JSON {
		iv.Stdout = app.Stderr
	}
	eng := &system.Engine{Invoker: iv, Report: app.Report}
	res, err := eng.Switch(ctx, cfg, c.DryRun)
	if res == nil {
		return err
	}
	plan := res.Plan
	if c.JSON {
		doc := systemSwitchJSON{Version: jsonVersion, DryRun: c.DryRun, Steps: systemSteps(plan.Steps, res.Done),
			Unchanged: keyStrings(plan.Unchanged), Forgotten: keyStrings(plan.Forgotten), Error: errString(err)}
		if jerr := writeJSON(app.Stdout, doc); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	if c.DryRun {
		if ferr := system.Format(app.Stdout, plan.Steps); ferr != nil {
			return ferr
		}
		app.Report.Infof("%s", dryRunSummary(system.Count(plan.Steps), len(plan.Steps), len(plan.Unchanged)))
		return err
	}
	if ferr := system.Format(app.Stdout, res.Done); ferr != nil {
		return errors.Join(err, ferr)
	}
	for _, k := range plan.Forgotten {
		app.Report.Infof("%s is no longer declared and was already inactive: forgotten", k)
	}
	switch {
	case err != nil:
	case len(plan.Steps) == 0:
		app.Report.Infof("nothing to do: %d components up to date", len(plan.Unchanged))
	default:
		app.Report.Infof("switched: %s; %d unchanged", system.Count(res.Done), len(plan.Unchanged))
	}
	return err
}

// SystemPreSwitchCmd snapshots what a switch to a candidate system affects.
type SystemPreSwitchCmd struct {
	Toplevel string `arg:"" name:"NEW_TOPLEVEL" help:"The candidate system; its config is NEW_TOPLEVEL/etc/dysnomia/system.json."`
	Action   string `arg:"" optional:"" name:"ACTION" help:"switch, boot, test, dry-activate or check; default: $NIXOS_ACTION (nixpkgs before 25.05 passes the action only there)."`
	Current  string `name:"current" placeholder:"FILE" default:"/run/current-system/etc/dysnomia/system.json" help:"The running system's config, used when no switch has recorded what it applied."`
	JSON     bool   `name:"json" help:"Print JSON instead of the snapshots taken (docs/json.md): {version, action, skipped, steps: [{activity, container, component, path, reason, detail, done}], pruned, failed, error}."`
}

// Run implements the command.
func (c *SystemPreSwitchCmd) Run(ctx context.Context, app *App) error {
	action, err := c.action(app)
	if err != nil {
		return err
	}
	if _, _, err := system.SnapshotsOn(action, config.SnapshotPolicy{}); err != nil {
		return fmt.Errorf("pre-switch: %w", err)
	}
	file := system.CandidateFile(c.Toplevel)
	candidate, err := config.LoadSystem(file)
	if errors.Is(err, fs.ErrNotExist) {
		why := file + " does not exist (the new system declares no dysnomia config)"
		if c.JSON {
			return writeJSON(app.Stdout, systemPreSwitchJSON{Version: jsonVersion, Action: action, Skipped: why, Steps: []systemStepJSON{}})
		}
		app.Report.Infof("pre-switch: %s: nothing to do", why)
		return nil
	}
	if err != nil {
		return fmt.Errorf("pre-switch: %w", err)
	}
	// The state lives where the running system keeps it.
	stateDir := candidate.StateDir
	if cur, err := config.LoadSystem(c.Current); err == nil && cur.StateDir != "" {
		stateDir = cur.StateDir
	}
	iv, err := app.withStateDir(stateDir).Invoker()
	if err != nil {
		return err
	}
	running, err := system.LoadRunning(iv.Store.Dir(), c.Current)
	if err != nil {
		return fmt.Errorf("pre-switch: %w", err)
	}
	if c.JSON {
		iv.Stdout = app.Stderr
	}
	eng := &system.Engine{Invoker: iv, Report: app.Report}
	res, err := eng.PreSwitch(ctx, running, candidate, action)
	if res == nil {
		return err
	}
	if c.JSON {
		doc := systemPreSwitchJSON{Version: jsonVersion, Action: action, Skipped: res.Skipped, Steps: systemSteps(res.Steps, res.Done),
			Pruned: res.Pruned, Failed: errString(res.Failed), Error: errString(err)}
		if jerr := writeJSON(app.Stdout, doc); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	if ferr := system.Format(app.Stdout, res.Done); ferr != nil {
		return errors.Join(err, ferr)
	}
	for _, t := range res.Protects {
		if t.Change == system.ChangeServer {
			app.Report.Infof("pre-switch: %s is the pre-upgrade snapshot of %s (%s): the switch restores it if the new server lacks the database", t.Snapshot, t.Key, t.Servers())
		} else {
			app.Report.Infof("pre-switch: %s is the last state of %s, which the switch removes", t.Snapshot, t.Key)
		}
	}
	switch {
	case res.Skipped != "":
		app.Report.Infof("pre-switch: no snapshots: %s", res.Skipped)
	case err != nil:
	case res.Failed != nil:
		app.Report.Warnf("pre-switch: %v; switching anyway, as snapshots.onFailure = \"continue\"", res.Failed)
	case len(res.Steps) == 0:
		app.Report.Infof("pre-switch: nothing to snapshot: no active component is affected")
	default:
		msg := "pre-switch: took " + plural(len(res.Done), "snapshot")
		if res.Pruned > 0 {
			msg += fmt.Sprintf("; removed %s (keeping %d per component)", plural(res.Pruned, "old generation"), candidate.Snapshots.Keep)
		}
		app.Report.Infof("%s", msg)
	}
	return err
}

// action is the switch-to-configuration action: the ACTION argument, or
// NIXOS_ACTION when it is empty. switch-to-configuration passes the action
// as the second argument of the pre-switch checks since nixpkgs 25.05;
// before that it ran them with the new toplevel alone and exported the
// action as NIXOS_ACTION.
func (c *SystemPreSwitchCmd) action(app *App) (string, error) {
	if c.Action != "" {
		return c.Action, nil
	}
	if a := app.Getenv("NIXOS_ACTION"); a != "" {
		return a, nil
	}
	return "", errors.New("pre-switch: no action: give it as the second argument (dysnomia system pre-switch NEW_TOPLEVEL ACTION) or in NIXOS_ACTION")
}

// withStateDir returns app with the state directory dir, unless --state-dir
// was given (it wins) or dir is "". The system config's stateDir thus comes
// before DYSNOMIA_STATEDIR.
func (a *App) withStateDir(dir string) *App {
	if dir == "" || (a.Globals != nil && a.Globals.StateDir != "") {
		return a
	}
	var g Globals
	if a.Globals != nil {
		g = *a.Globals
	}
	g.StateDir = dir
	b := *a
	b.Globals = &g
	return &b
}
