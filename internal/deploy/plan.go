package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Reason says why a step is in a plan.
type Reason string

// The reasons.
const (
	New       Reason = "new"       // available, not activated
	Changed   Reason = "changed"   // available under another path than the activated one
	Removed   Reason = "removed"   // activated, no longer available
	Activated Reason = "activated" // a bulk activity over the activated components
	Garbage   Reason = "garbage"   // collect-garbage of a deactivated component
)

// Step is one activity on one component.
type Step struct {
	store.Key
	Activity module.Activity
	Path     string // the real component path handed to the module
	Reason   Reason
	OldPath  string // for Changed: the path that was activated
	Type     string // module type recorded at activation; "" when unknown
	Problem  error  // set when the step cannot run (reported as a failure)
}

// Plan is what a deployment does: deactivations first, then activations,
// each group sorted by container and component, so that the same states
// always give the same plan.
type Plan struct {
	Steps     []Step
	Unchanged []store.Key // active and available with the same path
	Warnings  []string    // e.g. component entries that were skipped
}

// Compute plans a deployment from the available components to the
// activated markers:
//
//   - activated but no longer available: deactivate (Removed), with the
//     component path the marker recorded;
//   - available but not activated: activate (New);
//   - available under a path other than the one the marker recorded:
//     activate the new path (Changed). Activation is idempotent in every
//     module, so this is how an upgraded component (a new store path with
//     the same name) takes effect; modules keep the state.
//
// A marker written by upstream Dysnomia records no path; its component is
// taken as unchanged, as upstream would. A removed component whose marker
// records no path gets a step with a Problem: nothing can tell the module
// which component to deactivate.
func Compute(available []Component, activated []store.Marker) *Plan {
	p := &Plan{}
	active := make(map[store.Key]store.Marker, len(activated))
	for _, m := range activated {
		active[m.Key] = m
	}
	avail := make(map[store.Key]bool, len(available))
	for _, c := range available {
		avail[c.Key] = true
	}
	for _, m := range activated {
		if avail[m.Key] {
			continue
		}
		s := Step{Key: m.Key, Activity: module.Deactivate, Path: m.ComponentPath, Reason: Removed, Type: m.Type}
		if s.Path == "" {
			s.Problem = fmt.Errorf("its activation marker records no component path (written by upstream Dysnomia) and it is no longer in the components path; deactivate it with: dysnomia deactivate --container %s --component /nix/store/…-%s", m.Container, m.Component)
		}
		p.Steps = append(p.Steps, s)
	}
	for _, c := range available {
		m, isActive := active[c.Key]
		switch {
		case !isActive:
			p.Steps = append(p.Steps, Step{Key: c.Key, Activity: module.Activate, Path: c.Path, Reason: New, Problem: c.Problem})
		case c.Problem != nil:
			p.Unchanged = append(p.Unchanged, c.Key)
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is left as it is: %v", c.Key, c.Problem))
		case m.ComponentPath == "" || m.ComponentPath == c.Path:
			p.Unchanged = append(p.Unchanged, c.Key)
		default:
			p.Steps = append(p.Steps, Step{Key: c.Key, Activity: module.Activate, Path: c.Path, Reason: Changed, OldPath: m.ComponentPath, Type: m.Type})
		}
	}
	sortSteps(p.Steps)
	sortByKey(p.Unchanged, func(k store.Key) store.Key { return k })
	return p
}

// Each plans one activity over a set of markers (the activated components,
// or the garbage ones), in key order. The component path is the one the
// marker records; for an upstream marker without one, find looks the
// component up in the components path, and a step that still has no path
// gets a Problem.
func Each(act module.Activity, markers []store.Marker, reason Reason, find func(store.Key) (string, error)) []Step {
	steps := make([]Step, 0, len(markers))
	for _, m := range markers {
		s := Step{Key: m.Key, Activity: act, Path: m.ComponentPath, Reason: reason, Type: m.Type}
		if s.Path == "" {
			path, err := find(m.Key)
			if err != nil {
				s.Problem = fmt.Errorf("its %s marker records no component path (written by upstream Dysnomia, or by a module itself) and it cannot be found in the components path: %w", markerKind(reason), err)
			}
			s.Path = path
		}
		steps = append(steps, s)
	}
	sortSteps(steps)
	return steps
}

func markerKind(r Reason) string {
	if r == Garbage {
		return "garbage"
	}
	return "activation"
}

// sortSteps puts deactivations before everything else, then orders by key.
func sortSteps(steps []Step) {
	sortByKey(steps, func(s Step) store.Key { return s.Key })
	rank := func(s Step) int {
		if s.Activity == module.Deactivate {
			return 0
		}
		return 1
	}
	// stable partition: deactivations first, key order kept within groups
	out := make([]Step, 0, len(steps))
	for r := 0; r <= 1; r++ {
		for _, s := range steps {
			if rank(s) == r {
				out = append(out, s)
			}
		}
	}
	copy(steps, out)
}

// Describe is the step's one-line description without the activity, e.g.
// "echo/web /nix/store/…-web (changed: was /nix/store/…-web)".
func (s Step) Describe() string {
	var b strings.Builder
	b.WriteString(s.Key.String())
	if s.Path != "" {
		b.WriteString(" " + s.Path)
	}
	b.WriteString(" (" + string(s.Reason))
	if s.OldPath != "" {
		b.WriteString(": was " + s.OldPath)
	}
	b.WriteString(")")
	return b.String()
}

// Format writes the plan, one step per line, in columns:
//
//	ACTIVITY  CONTAINER/COMPONENT  PATH  REASON
//
// A step that cannot run says why at the end of its line.
func (p *Plan) Format(w io.Writer) error {
	return FormatSteps(w, p.Steps)
}

// FormatSteps writes steps as Plan.Format does.
func FormatSteps(w io.Writer, steps []Step) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, s := range steps {
		path := s.Path
		if path == "" {
			path = "-"
		}
		reason := string(s.Reason)
		if s.OldPath != "" {
			reason += " (was " + s.OldPath + ")"
		}
		if s.Problem != nil {
			reason += "; cannot run: " + s.Problem.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Activity, s.Key, path, reason)
	}
	return tw.Flush()
}

// MarshalJSON renders a step for --json output.
func (s Step) MarshalJSON() ([]byte, error) {
	j := struct {
		Activity  module.Activity `json:"activity"`
		Container string          `json:"container"`
		Component string          `json:"component"`
		Path      string          `json:"path"`
		Reason    Reason          `json:"reason"`
		OldPath   string          `json:"oldPath,omitempty"`
		Type      string          `json:"type,omitempty"`
		Problem   string          `json:"problem,omitempty"`
	}{s.Activity, s.Container, s.Component, s.Path, s.Reason, s.OldPath, s.Type, ""}
	if s.Problem != nil {
		j.Problem = s.Problem.Error()
	}
	return json.Marshal(j)
}
