package system

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Step is one activity of a switch or pre-switch, with the component and
// container it runs with.
type Step struct {
	deploy.Step
	Detail string // what changed, e.g. "path" or "serverPackage A -> B"
	Entry  Entry
	// Upgrade is set on the activation of an active component whose
	// container's server package changed since it was applied: the new
	// server may lack its database (see Engine.Switch).
	Upgrade *Upgrade
}

// Upgrade is a change of a container's server package.
type Upgrade struct {
	From, To string // the server packages, as applied and as declared
}

// Plan is what a switch does.
type Plan struct {
	// Steps are the removals first (per component: snapshot, deactivate
	// and, under garbage.removed = "delete", collect-garbage), then the
	// activations; each group in key order.
	Steps []Step
	// Unchanged are active components declared exactly as applied: no
	// module is called for them.
	Unchanged []store.Key
	// Forgotten were applied, are no longer declared and are not active
	// any more (deactivated by other means): they leave the record without
	// a module call.
	Forgotten []store.Key
}

// PlanSwitch compares the declared components with the applied ones and the
// activation markers:
//
//   - declared, not active: activate (new);
//   - declared, active under another path than the declared one, or
//     declared differently from what was applied (path, container type,
//     properties, secret files, server package, component properties), or
//     active but never applied by a switch: activate again (changed).
//     Activation is idempotent: it creates what is missing and keeps the
//     state;
//   - declared as applied and active with that path: unchanged;
//   - of the changed ones, those whose server package changed (both
//     declared, and different) carry an Upgrade;
//   - applied, no longer declared, active: snapshot, deactivate (the state
//     is kept, marked garbage) and, when garbage is config.RemovedDelete,
//     collect-garbage. Removals run with the container as applied, since
//     the config may no longer declare it.
func PlanSwitch(declared, applied []Entry, activated []store.Marker, garbage string) *Plan {
	p := &Plan{}
	active := make(map[store.Key]store.Marker, len(activated))
	for _, m := range activated {
		active[m.Key] = m
	}
	want := byKey(declared)
	was := byKey(applied)
	applied = append([]Entry(nil), applied...)
	sortEntries(applied)
	for _, old := range applied {
		if _, ok := want[old.Key]; ok {
			continue
		}
		if _, ok := active[old.Key]; !ok {
			p.Forgotten = append(p.Forgotten, old.Key)
			continue
		}
		acts := []module.Activity{module.Snapshot, module.Deactivate}
		if garbage == config.RemovedDelete {
			acts = append(acts, module.CollectGarbage)
		}
		for _, act := range acts {
			reason := deploy.Removed
			if act == module.CollectGarbage {
				reason = deploy.Garbage
			}
			p.Steps = append(p.Steps, Step{
				Step:   deploy.Step{Key: old.Key, Activity: act, Path: old.Path, Reason: reason, Type: old.Container.Type},
				Detail: "no longer declared",
				Entry:  old,
			})
		}
	}
	declared = append([]Entry(nil), declared...)
	sortEntries(declared)
	for _, e := range declared {
		s := Step{Step: deploy.Step{Key: e.Key, Activity: module.Activate, Path: e.Path, Type: e.Container.Type}, Entry: e}
		m, isActive := active[e.Key]
		old, wasApplied := was[e.Key]
		switch {
		case !isActive:
			s.Reason = deploy.New
			if wasApplied {
				s.Detail = "applied before, not active now"
			}
		case m.ComponentPath != "" && m.ComponentPath != e.Path:
			s.Reason, s.OldPath, s.Detail = deploy.Changed, m.ComponentPath, "path"
		case !wasApplied:
			s.Reason, s.Detail = deploy.Changed, "active, but not applied by a system switch before"
		case len(old.Changes(e)) > 0:
			s.Reason, s.Detail = deploy.Changed, describeChanges(old, e)
			if old.Path != e.Path {
				s.OldPath = old.Path
			}

		default:
			p.Unchanged = append(p.Unchanged, e.Key)
			continue
		}
		if isActive && wasApplied && changeOf(old, e, true) == ChangeServer {
			s.Upgrade = &Upgrade{From: old.Container.ServerPackage, To: e.Container.ServerPackage}
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

// Count summarises steps by activity: "snapshot 1, deactivate 1, activate 2".
func Count(steps []Step) string {
	order := []module.Activity{}
	n := map[module.Activity]int{}
	for _, s := range steps {
		if n[s.Activity] == 0 {
			order = append(order, s.Activity)
		}
		n[s.Activity]++
	}
	out := ""
	for i, a := range order {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s %d", a, n[a])
	}
	if out == "" {
		return "nothing"
	}
	return out
}

// Format writes steps one per line, in columns:
//
//	ACTIVITY  CONTAINER/COMPONENT  PATH  REASON (DETAIL)
func Format(w io.Writer, steps []Step) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, s := range steps {
		reason := string(s.Reason)
		if s.Detail != "" {
			reason += " (" + s.Detail + ")"
		}
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Activity, s.Key, s.Path, reason); err != nil {
			return err
		}
	}
	return tw.Flush()
}
