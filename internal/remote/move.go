package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Move is a cut-over of one component to another host.
type Move struct {
	Key    store.Key    // the component, by container and component name
	Client *Client      // the target host
	Store  *store.Store // the source's state directory
	// Local runs an activity on the source component (its module's lock,
	// snapshot, unlock and deactivate).
	Local func(ctx context.Context, act module.Activity) error
	// Deactivate the source component once the target has its state.
	Deactivate bool
	Report     ui.Reporter
}

// MoveSummary reports a move (its --json output).
type MoveSummary struct {
	Version     int     `json:"version"`
	Container   string  `json:"container"`
	Component   string  `json:"component"`
	To          string  `json:"to"`
	Snapshot    string  `json:"snapshot,omitempty"` // the final snapshot, restored on the target
	Sent        int     `json:"sent"`               // snapshots pushed (0 when the target had it)
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	Deactivated bool    `json:"deactivated"`
	Steps       []Step  `json:"steps"`
}

// Step is one step of a move, as done.
type Step struct {
	Name    string  `json:"step"`
	Seconds float64 `json:"seconds"`
}

// Run carries the move out:
//
//  1. check that the target's dysnomia answers;
//  2. lock the source component (its module's lock activity);
//  3. take a final snapshot of it;
//  4. push that snapshot to the target;
//  5. activate the component on the target (creates it only if needed);
//  6. restore the final snapshot there;
//  7. unlock the source; with Deactivate, deactivate it.
//
// A failure stops the move, names the step, and unlocks the source when it
// was locked. The source's data is never changed before step 7; on the
// target a push installs only complete, verified snapshots, and the
// module's restore replaces the component's state only when it is
// complete, so a failed step leaves its old state.
func (m *Move) Run(ctx context.Context) (*MoveSummary, error) {
	begin := time.Now()
	c := m.Client
	rep := m.Report
	if rep == nil {
		rep = ui.Discard
	}
	sum := &MoveSummary{Version: SummaryVersion, Container: m.Key.Container, Component: m.Key.Component, To: c.Host, Steps: []Step{}}
	defer func() { sum.Seconds = time.Since(begin).Seconds() }()
	fail := func(step string, err error) error {
		return fmt.Errorf("move %s to %s: %s: %w", m.Key, c.Host, step, err)
	}
	step := func(name string, f func() error) error {
		t := time.Now()
		rep.Infof("move %s to %s: %s", m.Key, c.Host, name)
		if err := f(); err != nil {
			return err
		}
		sum.Steps = append(sum.Steps, Step{Name: name, Seconds: time.Since(t).Seconds()})
		return nil
	}
	target := []string{"--container", m.Key.Container, "--component", m.Key.Component}
	check := "check dysnomia on " + c.Host
	if err := step(check, func() error { _, err := c.Run(ctx, nil, "version"); return err }); err != nil {
		return sum, fail(check, err)
	}
	if err := step("lock", func() error { return m.Local(ctx, module.Lock) }); err != nil {
		return sum, fail("lock", err)
	}
	locked := true
	unlock := func() error {
		locked = false
		// A cancelled move still unlocks.
		return step("unlock", func() error { return m.Local(context.WithoutCancel(ctx), module.Unlock) })
	}
	abort := func(name string, err error) error {
		err = fail(name, err)
		if !locked {
			return err
		}
		if uerr := unlock(); uerr != nil {
			return errors.Join(err, fmt.Errorf("and unlocking the source failed too: %w", uerr))
		}
		return fmt.Errorf("%w (the source is unlocked and unchanged)", err)
	}

	var final store.Snapshot
	if err := step("snapshot", func() error {
		if err := m.Local(ctx, module.Snapshot); err != nil {
			return err
		}
		sn, ok, err := m.Store.Latest(m.Key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the module stored no snapshot of %s", m.Key)
		}
		final = sn
		sum.Snapshot = sn.Rel()
		return nil
	}); err != nil {
		return sum, abort("snapshot", err)
	}
	pushStep := "push to " + c.Host
	if err := step(pushStep, func() error {
		ps, err := push(ctx, m.Store, c, store.Selection{}, []store.Snapshot{final}, Options{Report: rep})
		if ps != nil {
			sum.Sent, sum.Bytes = ps.Sent, ps.Bytes
		}
		return err
	}); err != nil {
		return sum, abort(pushStep, err)
	}
	activate := "activate on " + c.Host
	if err := step(activate, func() error {
		_, err := c.Run(ctx, nil, append([]string{"activate"}, target...)...)
		return err
	}); err != nil {
		return sum, abort(activate, err)
	}
	restore := "restore on " + c.Host
	if err := step(restore, func() error {
		_, err := c.Run(ctx, nil, append([]string{"restore"}, append(target, "--snapshot", final.Rel())...)...)
		return err
	}); err != nil {
		return sum, abort(restore, err)
	}
	if err := unlock(); err != nil {
		return sum, fail("unlock", fmt.Errorf("%w (%s was restored on %s)", err, final.Rel(), c.Host))
	}
	if m.Deactivate {
		if err := step("deactivate", func() error { return m.Local(ctx, module.Deactivate) }); err != nil {
			return sum, fail("deactivate", fmt.Errorf("%w (%s was restored on %s; the source is unlocked)", err, final.Rel(), c.Host))
		}
		sum.Deactivated = true
	}
	return sum, nil
}
