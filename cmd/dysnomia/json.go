package main

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/system"
)

// jsonVersion is the version of every --json document (docs/json.md). It
// changes when a field changes meaning or goes away; added fields keep it.
const jsonVersion = 1

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// activityJSON is the document of every activity command (activate,
// deactivate, lock, unlock, snapshot, restore, collect-garbage) with --json.
type activityJSON struct {
	Version       int           `json:"version"`
	Activity      string        `json:"activity"`
	Container     string        `json:"container"`
	Component     string        `json:"component"`
	ComponentPath string        `json:"componentPath"`
	Type          string        `json:"type"`
	OK            bool          `json:"ok"`
	Error         string        `json:"error,omitempty"`
	Snapshot      *snapshotJSON `json:"snapshot,omitempty"` // snapshot: the latest generation after it; restore: what was restored
}

// snapshotJSON names one snapshot and its place among the generations.
type snapshotJSON struct {
	Snapshot      string `json:"snapshot"` // <container>/<component>/<id>
	ID            string `json:"id"`
	Generation    int    `json:"generation,omitempty"`
	NewGeneration bool   `json:"newGeneration"`
}

// listJSON is snapshots list and snapshots latest with --json.
type listJSON struct {
	Version   int           `json:"version"`
	Snapshots []snapshotRow `json:"snapshots"`
}

// snapshotRow is one generation in list and latest --json.
type snapshotRow struct {
	Container  string     `json:"container"`
	Component  string     `json:"component"`
	Generation int        `json:"generation"`
	ID         string     `json:"id"`
	Path       string     `json:"path"`
	Checksum   string     `json:"checksum,omitempty"`
	Time       *time.Time `json:"time,omitempty"`
	Module     string     `json:"module,omitempty"`
	Host       string     `json:"host,omitempty"`
	Size       int64      `json:"size"`               // bytes in the store
	DumpSize   int64      `json:"dumpSize,omitempty"` // bytes the module dumped (before compression); 0 when unknown
	Status     string     `json:"status,omitempty"`   // with --check: "ok", "no-checksum", "checksum-mismatch", "missing", "unreadable"
}

// gcJSON is snapshots gc with --json.
type gcJSON struct {
	Version     int              `json:"version"`
	DryRun      bool             `json:"dryRun"`
	Keep        int              `json:"keep"`
	Generations []generationJSON `json:"generations"` // removed (or, in a dry run, to be removed)
	Snapshots   []string         `json:"snapshots"`
	Strays      []string         `json:"strays"` // leftovers of interrupted writes, relative to the state directory
}

type generationJSON struct {
	Snapshot   string `json:"snapshot"`
	Generation int    `json:"generation"`
}

func gcDocument(res *store.GCResult, keep int, dry bool) gcJSON {
	doc := gcJSON{Version: jsonVersion, DryRun: dry, Keep: keep, Generations: []generationJSON{}, Snapshots: []string{}, Strays: []string{}}
	if res == nil {
		return doc
	}
	for _, g := range res.Generations {
		doc.Generations = append(doc.Generations, generationJSON{g.Snapshot.Rel(), g.N})
	}
	for _, sn := range res.Snapshots {
		doc.Snapshots = append(doc.Snapshots, sn.Rel())
	}
	doc.Strays = append(doc.Strays, res.Strays...)
	return doc
}

// transferJSON is snapshots export (on standard error: standard output is
// the stream) and snapshots import with --json.
type transferJSON struct {
	Version     int                `json:"version"`
	Snapshots   []transferSnapshot `json:"snapshots"`
	Generations []generationJSON   `json:"generations"` // import: the generations added
	Bytes       int64              `json:"bytes"`       // of the stream
}

type transferSnapshot struct {
	Snapshot string `json:"snapshot"`
	Status   string `json:"status"` // export: "exported"; import: "imported", "skipped" (already there) or "repaired" (a damaged copy replaced)
}

// snapshotPathsJSON is snapshots resolve with --json.
type snapshotPathsJSON struct {
	Version   int            `json:"version"`
	Snapshots []snapshotPath `json:"snapshots"`
}

type snapshotPath struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
}

// missingJSON is snapshots print-missing with --json.
type missingJSON struct {
	Version int      `json:"version"`
	Missing []string `json:"missing"`
}

// containersJSON is containers list with --json.
type containersJSON struct {
	Version    int             `json:"version"`
	Containers []containerJSON `json:"containers"`
}

type containerJSON struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// componentsJSON is containers available and containers activated with
// --json.
type componentsJSON struct {
	Version    int             `json:"version"`
	Components []componentJSON `json:"components"`
}

type componentJSON struct {
	Container string `json:"container"`
	Component string `json:"component"`
	Entry     string `json:"entry,omitempty"`   // available: the entry of the components path
	Path      string `json:"path"`              // the real component path; activated: "" for an upstream marker
	Type      string `json:"type,omitempty"`    // activated: the module type recorded at activation
	Problem   string `json:"problem,omitempty"` // available: why the entry cannot be used
}

// deployJSON is containers deploy (and its --dry-run) with --json.
type deployJSON struct {
	Version   int        `json:"version"`
	DryRun    bool       `json:"dryRun"`
	Steps     []stepJSON `json:"steps"`
	Unchanged int        `json:"unchanged"`
}

// stepJSON is one planned activity and, unless in a dry run, its outcome.
type stepJSON struct {
	Activity  string `json:"activity"`
	Container string `json:"container"`
	Component string `json:"component"`
	Path      string `json:"path"`
	Reason    string `json:"reason"`
	OldPath   string `json:"oldPath,omitempty"`
	Done      bool   `json:"done"`
	Error     string `json:"error,omitempty"`
}

// deployDocument renders a plan and, after a run, its outcome (err is the
// Executor's error; nil after a dry run or a clean run).
func deployDocument(plan *deploy.Plan, dry bool, err error) deployJSON {
	doc := deployJSON{Version: jsonVersion, DryRun: dry, Steps: []stepJSON{}, Unchanged: len(plan.Unchanged)}
	failed := map[store.Key]string{}
	var fe *deploy.FailedError
	if errors.As(err, &fe) {
		for _, f := range fe.Failed {
			failed[f.Step.Key] = f.Err.Error()
		}
	}
	for _, s := range plan.Steps {
		st := stepJSON{Activity: string(s.Activity), Container: s.Container, Component: s.Component, Path: s.Path,
			Reason: string(s.Reason), OldPath: s.OldPath}
		if s.Problem != nil {
			st.Error = s.Problem.Error()
		}
		if msg, ok := failed[s.Key]; ok {
			st.Error = msg
		}
		// A step is done when the run got through (every step ran, or
		// only steps of its own failed) and it is not one of them.
		st.Done = !dry && st.Error == "" && (err == nil || fe != nil)
		doc.Steps = append(doc.Steps, st)
	}
	return doc
}

// modulesJSON is modules with --json.
type modulesJSON struct {
	Version int      `json:"version"`
	Modules []string `json:"modules"`
}

// systemCheckJSON is system check with --json.
type systemCheckJSON struct {
	Version  int      `json:"version"`
	File     string   `json:"file"`
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"` // each with its JSON path, as the plain output prints them
}

// systemSwitchJSON is system switch (and its --dry-run) with --json.
type systemSwitchJSON struct {
	Version   int              `json:"version"`
	DryRun    bool             `json:"dryRun"`
	Steps     []systemStepJSON `json:"steps"` // the plan, each with whether it was done
	Unchanged []string         `json:"unchanged"`
	Forgotten []string         `json:"forgotten"`
	Error     string           `json:"error,omitempty"`
}

// systemPreSwitchJSON is system pre-switch with --json.
type systemPreSwitchJSON struct {
	Version int              `json:"version"`
	Action  string           `json:"action"`
	Skipped string           `json:"skipped,omitempty"` // why nothing was considered
	Steps   []systemStepJSON `json:"steps"`             // the planned snapshots, each with whether it was taken
	Pruned  int              `json:"pruned"`            // old generations removed by retention
	Failed  string           `json:"failed,omitempty"`  // snapshots that failed under snapshots.onFailure = "continue"
	Error   string           `json:"error,omitempty"`
}

// systemStepJSON is one step of a switch or pre-switch.
type systemStepJSON struct {
	Activity  string `json:"activity"`
	Container string `json:"container"`
	Component string `json:"component"`
	Path      string `json:"path"`
	Reason    string `json:"reason"`
	Detail    string `json:"detail,omitempty"` // what changed, e.g. "serverPackage A -> B"
	Done      bool   `json:"done"`
}

// systemSteps renders a plan with whether each step was done. Steps done
// that the plan does not hold — the restore of a pre-upgrade snapshot that
// created a database in place of its init scripts — come right before the
// planned step of the same component.
func systemSteps(plan, done []system.Step) []systemStepJSON {
	id := func(s system.Step) string { return string(s.Activity) + " " + s.Key.String() }
	did, planned := map[string]bool{}, map[string]bool{}
	for _, s := range done {
		did[id(s)] = true
	}
	for _, s := range plan {
		planned[id(s)] = true
	}
	extra := map[store.Key][]system.Step{}
	for _, s := range done {
		if !planned[id(s)] {
			extra[s.Key] = append(extra[s.Key], s)
		}
	}
	render := func(s system.Step, done bool) systemStepJSON {
		return systemStepJSON{Activity: string(s.Activity), Container: s.Container, Component: s.Component,
			Path: s.Path, Reason: string(s.Reason), Detail: s.Detail, Done: done}
	}
	out := []systemStepJSON{}
	for _, s := range plan {
		for _, x := range extra[s.Key] {
			out = append(out, render(x, true))
		}
		delete(extra, s.Key)
		out = append(out, render(s, did[id(s)]))
	}
	return out
}

func keyStrings(keys []store.Key) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.String())
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
