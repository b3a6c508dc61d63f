package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// ContainersDeployCmd brings the activated components in line with the
// available ones.
type ContainersDeployCmd struct {
	Only
	DryRun bool `name:"dry-run" help:"Print the plan (one step per line, sorted) and change nothing."`
	JSON   bool `name:"json" help:"Print JSON (docs/json.md): {version, dryRun, steps: [{activity, container, component, path, reason, oldPath, done, error}], unchanged}."`
}

// Run implements the command. Steps run in this process: a deployment with
// nothing to do reads the components path and the markers and starts no
// module at all. A component whose entry now points to another path than
// the one recorded at activation is activated again with the new path
// (activation is idempotent; the module keeps the state).
func (c *ContainersDeployCmd) Run(ctx context.Context, app *App) error {
	if err := c.validate(); err != nil {
		return err
	}
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	if c.JSON {
		iv.Stdout = app.Stderr // standard output carries the document alone
	}
	avail, warnings, err := deploy.Available(iv.Env.ComponentsPath, c.Container)
	if err != nil {
		return err
	}
	act, err := activated(iv.Store, c.Container)
	if err != nil {
		return err
	}
	plan := deploy.Compute(avail, act)
	for _, w := range append(warnings, plan.Warnings...) {
		app.Report.Warnf("%s", w)
	}
	if c.DryRun {
		if c.JSON {
			return writeJSON(app.Stdout, deployDocument(plan, true, nil))
		}
		if err := plan.Format(app.Stdout); err != nil {
			return err
		}
		app.Report.Infof("%s", dryRunSummary(countSteps(plan.Steps), len(plan.Steps), len(plan.Unchanged)))
		return nil
	}
	if len(plan.Steps) == 0 {
		app.Report.Infof("nothing to deploy: %d components up to date", len(plan.Unchanged))
	} else {
		err = (&deploy.Executor{Invoker: iv}).Run(ctx, plan.Steps)
		if err == nil {
			app.Report.Infof("deployed: did %s; %d unchanged", countSteps(plan.Steps), len(plan.Unchanged))
		}
	}
	if c.JSON {
		if jerr := writeJSON(app.Stdout, deployDocument(plan, false, err)); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// countSteps summarises steps: "activate 2, deactivate 1".
// dryRunSummary is the one wording of a dry run's last line, for deploy
// and switch: "dry run: would activate 2, deactivate 1; 3 unchanged", or
// "dry run: nothing to do; 3 unchanged".
func dryRunSummary(counts string, steps, unchanged int) string {
	if steps == 0 {
		return fmt.Sprintf("dry run: nothing to do; %d unchanged", unchanged)
	}
	return fmt.Sprintf("dry run: would %s; %d unchanged", counts, unchanged)
}

func countSteps(steps []deploy.Step) string {
	var act, deact int
	for _, s := range steps {
		if s.Activity == module.Deactivate {
			deact++
		} else {
			act++
		}
	}
	return fmt.Sprintf("activate %d, deactivate %d", act, deact)
}

// ContainersRunCmd runs one activity on every activated component.
type ContainersRunCmd struct {
	Only
	Operation string `short:"o" required:"" placeholder:"ACTIVITY" help:"The activity: activate, deactivate, lock, unlock, snapshot, restore or collect-garbage."`
}

// Run implements the command.
func (c *ContainersRunCmd) Run(ctx context.Context, app *App) error {
	act, err := module.ParseActivity(c.Operation)
	if err != nil {
		return err
	}
	if act == module.Shell {
		return fmt.Errorf("containers run: the shell activity is interactive; use dysnomia shell --container C --component C")
	}
	return runActivated(ctx, app, c.Only, act)
}

// ContainersSnapshotCmd snapshots every activated component.
type ContainersSnapshotCmd struct {
	Only
}

// Run implements the command.
func (c *ContainersSnapshotCmd) Run(ctx context.Context, app *App) error {
	return runActivated(ctx, app, c.Only, module.Snapshot)
}

// ContainersRestoreCmd restores every activated component.
type ContainersRestoreCmd struct {
	Only
	Yes bool `short:"y" help:"Do not ask for confirmation (required when standard input is not a terminal)."`
}

// Run implements the command. Restoring overwrites live state, so it asks
// first; without a terminal to ask on, it needs --yes.
func (c *ContainersRestoreCmd) Run(ctx context.Context, app *App) error {
	if err := c.validate(); err != nil {
		return err
	}
	if !c.Yes {
		st, err := app.Store()
		if err != nil {
			return err
		}
		ms, err := activated(st, c.Container)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			app.Report.Infof("no activated components to restore")
			return nil
		}
		if !readerIsTerminal(app.Stdin) {
			return fmt.Errorf("containers restore replaces the state of %d activated components with their latest snapshots and needs confirmation, but standard input is not a terminal: pass --yes", len(ms))
		}
		ok, err := confirmRestore(app.Stdin, app.Stderr, ms)
		if err != nil {
			return err
		}
		if !ok {
			app.Report.Infof("not restoring anything")
			return nil
		}
	}
	return runActivated(ctx, app, c.Only, module.Restore)
}

// confirmRestore asks on w whether to restore ms and reads the answer
// from r: only "y" or "yes" proceeds.
func confirmRestore(r io.Reader, w io.Writer, ms []store.Marker) (bool, error) {
	fmt.Fprintf(w, "This replaces the current state of these components with their latest snapshots:\n")
	for _, m := range ms {
		fmt.Fprintf(w, "  %s\n", m.Key)
	}
	fmt.Fprintf(w, "Changes made since those snapshots are lost. Take a snapshot first if unsure.\n")
	fmt.Fprintf(w, "Are you sure you want to proceed? [n] ")
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(w)
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runActivated runs act on every activated component (of one container).
func runActivated(ctx context.Context, app *App, only Only, act module.Activity) error {
	if err := only.validate(); err != nil {
		return err
	}
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	ms, err := activated(iv.Store, only.Container)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		app.Report.Infof("no activated components")
		return nil
	}
	steps := deploy.Each(act, ms, deploy.Activated, finder(iv))
	return (&deploy.Executor{Invoker: iv}).Run(ctx, steps)
}

// ContainersGarbageCmd collects the garbage of every deactivated component.
type ContainersGarbageCmd struct {
	Only
}

// Run implements the command.
func (c *ContainersGarbageCmd) Run(ctx context.Context, app *App) error {
	if err := c.validate(); err != nil {
		return err
	}
	iv, err := app.Invoker()
	if err != nil {
		return err
	}
	ms, err := iv.Store.Garbage()
	if err != nil {
		return fmt.Errorf("read garbage components in %s: %w", iv.Store.Dir(), err)
	}
	ms = filterMarkers(ms, c.Container)
	if len(ms) == 0 {
		app.Report.Infof("no garbage to collect")
		return nil
	}
	steps := deploy.Each(module.CollectGarbage, ms, deploy.Garbage, finder(iv))
	return (&deploy.Executor{Invoker: iv}).Run(ctx, steps)
}

// finder looks a component up in the components path, for markers that
// record no path.
func finder(iv *module.Invoker) func(store.Key) (string, error) {
	return func(k store.Key) (string, error) { return deploy.Find(iv.Env.ComponentsPath, k) }
}
