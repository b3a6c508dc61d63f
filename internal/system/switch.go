package system

import (
	"context"
	"errors"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Engine runs switches and pre-switches in this process, through the
// deploy executor and the module Invoker.
type Engine struct {
	Invoker *module.Invoker // its Store is the state directory
	Report  ui.Reporter     // nil: the Invoker's
}

func (e *Engine) report() ui.Reporter {
	switch {
	case e.Report != nil:
		return e.Report
	case e.Invoker.Report != nil:
		return e.Invoker.Report
	}
	return ui.Discard
}

func (e *Engine) stateDir() string { return e.Invoker.Store.Dir() }

// lock serialises switches and pre-switches on one state directory. It is
// not the store's lock, which modules take while they write snapshots.
func (e *Engine) lock(ctx context.Context, what string) (func(), error) {
	// The lock lives in the state directory's system/ part: make the
	// state directory first, so that it is private like the rest.
	if err := e.Invoker.Store.Create(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	ls := store.Open(Dir(e.stateDir()))
	ls.Report = e.report()
	ls.LockTimeout = e.Invoker.Store.LockTimeout
	unlock, err := ls.Lock(ctx, what)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return unlock, nil
}

// SwitchResult is what a switch did.
type SwitchResult struct {
	Plan *Plan
	// Done are the steps that succeeded, in plan order, with the restores
	// of pre-upgrade snapshots before their activations, and retired
	// removals as deactivations.
	Done          []Step
	RecordChanged bool
	ViewsChanged  bool
}

// Switch brings the machine to the state cfg declares: it plans (see
// PlanSwitch) and, unless dryRun, runs the plan, records what was applied
// and renders the views. Components are independent: a failing one is
// reported and the others proceed; for a removed component whose snapshot
// fails, nothing else is done. The error is then a *deploy.FailedError
// listing the failed steps, and the record keeps what was applied before
// for those components. A switch with nothing to do calls no module.
//
// Two cases use the snapshots pre-switch took (TakenFile):
//
//   - a component whose server package changed is activated after
//     afterUpgrade: when the new server lacks its database, the
//     pre-upgrade snapshot of that change is restored instead of running
//     the init scripts (unless snapshots.restoreAfterUpgrade is false);
//   - a removed component whose snapshot fails (its server was stopped
//     before the switch) is retired when a pre-switch snapshot of the
//     removal protects it: marked garbage, and removed from the record.
//     Unprotected, it fails; when its container is no longer declared it
//     leaves the record all the same, so that it fails once, not on every
//     later switch and boot.
func (e *Engine) Switch(ctx context.Context, cfg *config.System, dryRun bool) (*SwitchResult, error) {
	st := e.Invoker.Store
	if !dryRun {
		unlock, err := e.lock(ctx, "system switch")
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	rec, _, err := LoadRecord(st.Dir())
	if err != nil {
		return nil, err
	}
	markers, err := st.Activated()
	if err != nil {
		return nil, fmt.Errorf("read the activated components in %s: %w", st.Dir(), err)
	}
	declared := Entries(cfg)
	res := &SwitchResult{Plan: PlanSwitch(declared, rec.Entries, markers, cfg.Garbage.Removed)}
	if dryRun {
		return res, nil
	}
	taken, err := LoadTaken(st.Dir())
	if err != nil {
		return nil, err
	}
	done, failedKeys, forget, runErr := e.runSwitch(ctx, cfg, res.Plan.Steps, taken)
	res.Done = done

	next := byKey(rec.Entries)
	want := byKey(declared)
	for _, k := range res.Plan.Unchanged {
		next[k] = want[k]
	}
	for _, k := range res.Plan.Forgotten {
		delete(next, k)
	}
	for _, s := range res.Plan.Steps {
		switch {
		case forget[s.Key]:
			delete(next, s.Key)
		case failedKeys[s.Key]:
		case s.Activity == module.Activate:
			next[s.Key] = s.Entry
		default: // the steps of a removal
			delete(next, s.Key)
		}
	}
	newRec := &Record{}
	for _, en := range next {
		newRec.Entries = append(newRec.Entries, en)
	}
	sortEntries(newRec.Entries)
	if res.RecordChanged, err = newRec.Save(st.Dir()); err != nil {
		return res, errors.Join(runErr, err)
	}
	// What pre-switch took serves until the change is applied: keep only
	// the snapshots of changes still pending against the new record.
	taken.prune(newRec.Entries)
	if err := taken.Save(st.Dir()); err != nil {
		return res, errors.Join(runErr, err)
	}
	if res.ViewsChanged, err = RenderViews(cfg).Write(st.Dir()); err != nil {
		return res, errors.Join(runErr, err)
	}
	return res, runErr
}

// runSwitch is run for a switch's plan, with the pre-switch snapshots at
// hand (see Switch). forget lists the failed removals that leave the
// record all the same.
func (e *Engine) runSwitch(ctx context.Context, cfg *config.System, steps []Step, taken *TakenRecord) (done []Step, failed, forget map[store.Key]bool, err error) {
	var cur Step
	ex := &deploy.Executor{
		Invoker: e.Invoker,
		Report:  e.report(),
		Resolve: func(deploy.Step) (module.Container, error) { return cur.Entry.Module(), nil },
	}
	failed, forget = map[store.Key]bool{}, map[store.Key]bool{}
	retired := map[store.Key]bool{}
	fail := &deploy.FailedError{Total: len(steps)}
	firstFailed := map[store.Key]module.Activity{}
	failStep := func(s Step, err error) {
		fail.Failed = append(fail.Failed, &deploy.StepError{Step: s.Step, Err: err})
		failed[s.Key] = true
		firstFailed[s.Key] = s.Activity
	}
	for _, s := range steps {
		switch {
		case retired[s.Key]:
			continue
		case failed[s.Key]:
			fail.Failed = append(fail.Failed, &deploy.StepError{Step: s.Step,
				Err: fmt.Errorf("not run, because %s %s failed: the component is left as it is", firstFailed[s.Key], s.Key)})
			continue
		}
		if s.Activity == module.Activate && s.Upgrade != nil && cfg.Snapshots.RestoreAfterUpgrade {
			restored, err := e.afterUpgrade(ctx, s, taken)
			if err != nil {
				rs := s
				rs.Activity = module.Restore
				e.report().Warnf("%s %s failed: %v", rs.Activity, s.Key, err)
				failStep(rs, err)
				continue
			}
			if restored != nil {
				done = append(done, *restored)
			}
		}
		cur = s
		err := ex.Run(ctx, []deploy.Step{s.Step})
		if err == nil {
			done = append(done, s)
			continue
		}
		var fe *deploy.FailedError
		if errors.As(err, &fe) && len(fe.Failed) == 1 {
			err = fe.Failed[0].Err
		}
		if s.Reason == deploy.Removed && s.Activity == module.Snapshot {
			t, why := e.protectedRemoval(s, taken)
			if why == nil {
				rs, rerr := e.retire(s, t, err, cfg.Garbage.Removed)
				if rerr == nil {
					done = append(done, rs)
					retired[s.Key] = true
					continue
				}
				why = rerr
			}
			explain, gone := removalFailed(s, cfg, why)
			e.report().Warnf("%s: %s", s.Key, explain)
			err = fmt.Errorf("%w; %s", err, explain)
			forget[s.Key] = gone
		}
		failStep(s, err)
	}
	if len(fail.Failed) > 0 {
		return done, failed, forget, fail
	}
	return done, failed, forget, nil
}

// run runs steps in order through the deploy executor, each with the
// container of its entry. After a step of a component fails, its later
// steps are not run: a removed component whose snapshot failed is not
// deactivated. It returns the steps that succeeded, the components that
// failed and a *deploy.FailedError, or nil when everything succeeded.
func (e *Engine) run(ctx context.Context, steps []Step) (done []Step, failed map[store.Key]bool, err error) {
	var cur Step
	ex := &deploy.Executor{
		Invoker: e.Invoker,
		Report:  e.report(),
		Resolve: func(deploy.Step) (module.Container, error) { return cur.Entry.Module(), nil },
	}
	failed = map[store.Key]bool{}
	fail := &deploy.FailedError{Total: len(steps)}
	firstFailed := map[store.Key]module.Activity{}
	for _, s := range steps {
		if failed[s.Key] {
			fail.Failed = append(fail.Failed, &deploy.StepError{Step: s.Step,
				Err: fmt.Errorf("not run, because %s %s failed: the component is left as it is", firstFailed[s.Key], s.Key)})
			continue
		}
		cur = s
		if err := ex.Run(ctx, []deploy.Step{s.Step}); err != nil {
			var fe *deploy.FailedError
			if errors.As(err, &fe) {
				fail.Failed = append(fail.Failed, fe.Failed...)
			} else {
				fail.Failed = append(fail.Failed, &deploy.StepError{Step: s.Step, Err: err})
			}
			failed[s.Key] = true
			firstFailed[s.Key] = s.Activity
			continue
		}
		done = append(done, s)
	}
	if len(fail.Failed) > 0 {
		return done, failed, fail
	}
	return done, failed, nil
}
