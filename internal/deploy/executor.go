package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Executor runs steps in this process through the module Invoker: native
// modules are called directly, external ones are started with the upstream
// protocol. Container files are read once per run, from the Invoker's
// containers path and with its shell mode.
//
// Steps are independent: a failing step is reported and the others still
// run. After a step succeeds, the executor keeps the markers consistent for
// modules that do not keep them (echo, wrapper, many external modules):
//
//   - activate records the component as active, with its real path and the
//     container's module type (store.RecordActive);
//   - deactivate turns a marker the module left active into a garbage
//     marker, so that the state is kept until collect-garbage, and makes
//     a garbage marker the module wrote itself record the component path
//     and type (store.RecordGarbage);
//   - collect-garbage of a garbage component removes the garbage marker the
//     module left.
type Executor struct {
	Invoker *module.Invoker
	Report  ui.Reporter // nil: the Invoker's

	// Resolve, when set, gives the container a step runs in, instead of
	// the container files of the Invoker's containers path: system switch
	// takes containers (and per-component properties) from its config.
	Resolve func(Step) (module.Container, error)

	containers map[string]loaded
}

type loaded struct {
	c   module.Container
	err error
}

// StepError is a step that failed.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Step.Activity, e.Step.Key, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// FailedError lists the steps of a run that failed. It unwraps to each
// StepError, so a module's *module.ExitError can be found with errors.As.
type FailedError struct {
	Total  int
	Failed []*StepError
}

func (e *FailedError) Error() string {
	names := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		names[i] = string(f.Step.Activity) + " " + f.Step.Key.String()
	}
	return fmt.Sprintf("%d of %d steps failed: %s", len(e.Failed), e.Total, strings.Join(names, ", "))
}

// Unwrap returns the failed steps' errors.
func (e *FailedError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// Run runs the steps in order and reports each one: before it runs, and
// with its error when it fails. It returns nil when every step succeeded,
// and a *FailedError otherwise. When ctx is cancelled the remaining steps
// are not started and count as failed.
func (e *Executor) Run(ctx context.Context, steps []Step) error {
	report := e.Report
	if report == nil {
		report = e.Invoker.Report
	}
	if report == nil {
		report = ui.Discard
	}
	fail := &FailedError{Total: len(steps)}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			fail.Failed = append(fail.Failed, &StepError{Step: s, Err: fmt.Errorf("not started: %w", err)})
			continue
		}
		report.Infof("%s %s", s.Activity, s.Describe())
		if err := e.step(ctx, report, s); err != nil {
			report.Warnf("%s %s failed: %v", s.Activity, s.Key, err)
			fail.Failed = append(fail.Failed, &StepError{Step: s, Err: err})
		}
	}
	if len(fail.Failed) > 0 {
		return fail
	}
	return nil
}

func (e *Executor) step(ctx context.Context, report ui.Reporter, s Step) error {
	if s.Problem != nil {
		return s.Problem
	}
	c, err := e.container(report, s)
	if err != nil {
		return err
	}
	req, m, err := e.Invoker.PrepareContainer(s.Activity, c, s.Path)
	if err != nil {
		return err
	}
	if k := req.Key(); k != s.Key {
		return fmt.Errorf("component path %s is named %s, not %s; refusing to run a module on another component", s.Path, k, s.Key)
	}
	if err := m.Run(ctx, req); err != nil {
		return err
	}
	return e.bookkeep(s, c)
}

// container returns the container a step runs in: its file, read once per
// run, or, for a deactivation or a garbage collection whose container file
// has gone, the module type recorded at activation with no properties.
func (e *Executor) container(report ui.Reporter, s Step) (module.Container, error) {
	if e.Resolve != nil {
		return e.Resolve(s)
	}
	if e.containers == nil {
		e.containers = map[string]loaded{}
	}
	l, ok := e.containers[s.Container]
	if !ok {
		l.c, l.err = e.load(s.Container)
		e.containers[s.Container] = l
	}
	leaving := s.Activity == module.Deactivate || (s.Activity == module.CollectGarbage && s.Reason == Garbage)
	if l.err != nil && errors.Is(l.err, config.ErrNotFound) && leaving && s.Type != "" {
		report.Warnf("the container file of %s is gone; running %s on %s with the module type recorded at activation (%s) and no container properties", s.Container, s.Activity, s.Key, s.Type)
		return module.Container{Name: s.Container, Arg: s.Container, Type: s.Type}, nil
	}
	if l.err != nil && errors.Is(l.err, config.ErrNotFound) && leaving {
		return l.c, fmt.Errorf("%w; its %s marker records no module type either, so %s cannot run: restore the container file, or run dysnomia %s --type TYPE --environment", l.err, markerKind(s.Reason), s.Activity, s.Activity)
	}
	return l.c, l.err
}

func (e *Executor) load(name string) (module.Container, error) {
	if err := store.ValidSegment(name); err != nil {
		return module.Container{}, fmt.Errorf("container name: %w", err)
	}
	file, err := config.FindContainer(name, e.Invoker.Env.ContainersPath)
	if err != nil {
		return module.Container{}, err
	}
	cf, err := config.LoadContainer(file, e.Invoker.ShellMode)
	if err != nil {
		return module.Container{}, fmt.Errorf("container %s: %w", name, err)
	}
	if cf.Type == "" {
		return module.Container{}, fmt.Errorf("container file %s has no type= line", file)
	}
	return module.Container{Name: name, Arg: name, Type: cf.Type, Properties: cf.Properties}, nil
}

func (e *Executor) bookkeep(s Step, c module.Container) error {
	st := e.Invoker.Store
	switch s.Activity {
	case module.Activate:
		return st.RecordActive(s.Key, s.Path, c.Type)
	case module.Deactivate:
		active, err := st.IsActive(s.Key)
		if err != nil {
			return err
		}
		if active {
			if err := st.MarkGarbage(s.Key); err != nil {
				return err
			}
		}
		// A module that wrote its own garbage marker may have left it
		// empty: the marker must still name the component and its type,
		// since collect-garbage has nothing else to go by once the
		// component has left the components path.
		typ := c.Type
		if typ == "" {
			typ = s.Type
		}
		return st.RecordGarbage(s.Key, s.Path, typ)
	case module.CollectGarbage:
		if s.Reason != Garbage {
			return nil
		}
		garbage, err := st.IsGarbage(s.Key)
		if err != nil || !garbage {
			return err
		}
		return st.UnmarkGarbage(s.Key)
	}
	return nil
}
