package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// afterUpgrade runs before the activation of a component whose server
// package changed (s.Upgrade). It asks the module (a module.Prober) what
// the new server holds of the component:
//
//   - data: nothing is done, and it says so; the activation finds the
//     database and keeps it (pg_upgrade was run, or the server upgraded its
//     data in place, as MariaDB does);
//   - nothing, or an empty database: the snapshot pre-switch took for this
//     very change (TakenRecord.Find) is restored through the module's own
//     restore, which verifies it, loads it into a new database and swaps it
//     in; the activation then finds the database and runs no init script.
//     Without such a snapshot, or when it is missing or damaged, the
//     component fails and nothing is created in its place: init scripts
//     would start it empty.
//
// A module that cannot be asked is activated as before, with a warning
// naming the snapshot. The restore step it returns is for the switch's
// output; nil when nothing was restored.
func (e *Engine) afterUpgrade(ctx context.Context, s Step, taken *TakenRecord) (*Step, error) {
	rep := e.report()
	st := e.Invoker.Store
	up := s.Upgrade
	servers := serverChange(up.From, up.To)
	req, m, err := e.Invoker.PrepareContainer(module.Restore, s.Entry.Module(), s.Path)
	if err != nil {
		return nil, err
	}
	t, found := taken.Find(s.Key, ChangeServer, up.From, up.To)
	prober, ok := m.(module.Prober)
	if !ok {
		if found {
			rep.Warnf("%s: its server changed (%s) and module type %s cannot tell whether the new server holds its data: activating it as before; if its data is missing, restore the pre-upgrade snapshot with: dysnomia restore --container %s --component %s --snapshot %s",
				s.Key, servers, s.Entry.Container.Type, s.Container, s.Path, t.Snapshot)
		}
		return nil, nil
	}
	state, err := prober.Probe(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("after the server change %s: %w", servers, err)
	}
	if state == module.StateHasData {
		if found {
			rep.Infof("%s exists with data on the new server (%s): left as it is; pre-upgrade snapshot %s not restored", s.Key, servers, t.Snapshot)
		} else {
			rep.Infof("%s exists with data on the new server (%s): left as it is", s.Key, servers)
		}
		return nil, nil
	}
	has := holds(state)
	if !found {
		return nil, e.noPreUpgradeSnapshot(s, servers, has, taken)
	}
	sn := store.Snapshot{Key: s.Key, ID: t.Snapshot}
	if _, err := os.Stat(st.SnapshotDir(sn)); err != nil {
		return nil, fmt.Errorf("the new server (%s) has %s, and its pre-upgrade snapshot %s is missing from %s (%v); nothing was created in its place: restore another snapshot of it by hand (dysnomia snapshots list --container %s --component %s), then switch again",
			servers, has, t.Rel(), st.Dir(), errors.Unwrap(err), s.Container, s.Component)
	}
	rep.Infof("restoring %s from pre-upgrade snapshot %s (%s): the new server has %s", s.Key, t.Snapshot, servers, has)
	req.Snapshot = t.Snapshot
	if err := m.Run(ctx, req); err != nil {
		return nil, fmt.Errorf("restore pre-upgrade snapshot %s after the server change %s: %w; nothing was created from the init scripts in its place", t.Rel(), servers, err)
	}
	rep.Infof("restored %s from pre-upgrade snapshot %s (%s)", s.Key, t.Snapshot, servers)
	rs := s
	rs.Activity = module.Restore
	rs.Detail = "pre-upgrade snapshot " + t.Snapshot + ", " + servers
	return &rs, nil
}

// noPreUpgradeSnapshot explains a component whose new server lacks its
// data when pre-switch recorded no snapshot for the change.
func (e *Engine) noPreUpgradeSnapshot(s Step, servers, has string, taken *TakenRecord) error {
	var b strings.Builder
	fmt.Fprintf(&b, "the new server (%s) has %s, and pre-switch recorded no snapshot of it for this change", servers, has)
	if t, ok := taken.get(s.Key); ok {
		fmt.Fprintf(&b, " (it recorded %s for %s %s)", t.Snapshot, t.Change, t.Servers())
	} else {
		b.WriteString(" (it did not run — snapshots.beforeUpgrade = \"never\", NIXOS_NO_CHECK — or its snapshot failed)")
	}
	b.WriteString("; it is not created from its init scripts, which would start it empty. Restore a snapshot of it: dysnomia restore --container " +
		s.Container + " --component " + s.Path)
	if sn, ok, err := e.Invoker.Store.Latest(s.Key); err == nil && ok {
		fmt.Fprintf(&b, " (the latest is %s", sn.ID)
		if md, err := e.Invoker.Store.Metadata(sn); err == nil && !md.Time.IsZero() {
			fmt.Fprintf(&b, ", taken %s", md.Time.UTC().Format("2006-01-02 15:04:05Z"))
		}
		b.WriteString(")")
	}
	b.WriteString(", then switch again; or set snapshots.restoreAfterUpgrade = false to create it from its init scripts")
	return errors.New(b.String())
}

// protectedRemoval returns the snapshot pre-switch took of a removed
// component before this switch, when it is in the store and intact.
func (e *Engine) protectedRemoval(s Step, taken *TakenRecord) (Taken, error) {
	t, ok := taken.Find(s.Key, ChangeRemoved, s.Entry.Container.ServerPackage, "")
	if !ok {
		return t, errors.New("no pre-switch snapshot protects this removal (pre-switch did not run, its snapshot failed, or snapshots.beforeUpgrade = \"never\")")
	}
	if err := e.Invoker.Store.Verify(store.Snapshot{Key: s.Key, ID: t.Snapshot}); err != nil {
		return t, fmt.Errorf("its pre-switch snapshot %s does not verify: %w", t.Snapshot, err)
	}
	return t, nil
}

// retire ends a removed component whose snapshot failed but which a
// pre-switch snapshot protects: it is marked garbage without a module call
// (its server is likely gone), and the switch records it as removed.
func (e *Engine) retire(s Step, t Taken, cause error, garbage string) (Step, error) {
	if err := e.Invoker.Store.MarkGarbage(s.Key); err != nil {
		return s, err
	}
	msg := fmt.Sprintf("retired %s: it is no longer declared and could not be snapshotted now (%v), its server is likely gone; its last state is pre-switch snapshot %s, taken %s; marked garbage",
		s.Key, cause, t.Snapshot, t.Time.UTC().Format("2006-01-02 15:04:05Z"))
	if garbage == config.RemovedDelete {
		msg += "; its data was not deleted (garbage.removed = \"delete\" needs its server)"
	}
	e.report().Infof("%s", msg)
	rs := s
	rs.Activity = module.Deactivate
	rs.Detail = "retired: server gone; pre-switch snapshot " + t.Snapshot
	return rs, nil
}

// removalFailed explains a removed component that could not be snapshotted
// and that nothing protects. When its container is no longer declared its
// server is likely gone for good: the component then leaves the applied
// record (forget is true), so that later switches and boots do not fail
// on it again.
func removalFailed(s Step, cfg *config.System, why error) (explain string, forget bool) {
	if cfg.Containers[s.Container] != nil {
		return fmt.Sprintf("%v; the next switch tries again", why), false
	}
	return fmt.Sprintf("its container %s is no longer declared, so its server is likely gone, and %v. %s is left as it is — still marked active, its data wherever the server kept it — and leaves the applied record, so later switches do not try again. To keep its state: start the server, then run dysnomia snapshot and dysnomia deactivate with --component %s --type %s --environment (the container's properties in the environment)",
		s.Container, why, s.Key, s.Path, s.Entry.Container.Type), true
}

// holds says what a server has of a component in a state other than
// module.StateHasData.
func holds(state module.State) string {
	if state == module.StateEmpty {
		return "an empty database of it"
	}
	return "no database of it"
}
