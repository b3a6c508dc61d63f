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
	Plan          *Plan
	Done          []Step // the steps that succeeded, in plan order
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
	done, failedKeys, runErr := e.run(ctx, res.Plan.Steps)
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
	if res.ViewsChanged, err = RenderViews(cfg).Write(st.Dir()); err != nil {
		return res, errors.Join(runErr, err)
	}
	return res, runErr
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
