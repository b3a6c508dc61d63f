package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// SnapshotsCheckCmd is snapshots check.
type SnapshotsCheckCmd struct {
	SnapshotSelection
	Repair bool `help:"First repair what can be repaired safely: remove leftovers of interrupted writes and generations whose snapshot is missing, and make entries other users could read private (0700/0600). Snapshot contents are never touched."`
	JSON   bool `name:"json" help:"Print JSON (docs/json.md): {version, stateDir, components, checked, problems, findings: [{kind, snapshot, generation, path, message, have, want}], repair, removed, tightened}."`
}

// checkResult is snapshots check --json.
type checkResult struct {
	Version    int             `json:"version"`
	StateDir   string          `json:"stateDir"`
	Components int             `json:"components"`
	Checked    int             `json:"checked"`
	Problems   int             `json:"problems"`
	Findings   []store.Finding `json:"findings"`
	Repair     []string        `json:"repair"`              // what to run to repair what is left
	Removed    []string        `json:"removed,omitempty"`   // with --repair
	Tightened  int             `json:"tightened,omitempty"` // with --repair: how many entries were made private
}

// Run implements the command.
func (c *SnapshotsCheckCmd) Run(ctx context.Context, app *App) error {
	sel, err := c.selection()
	if err != nil {
		return err
	}
	s, err := app.ExistingStore()
	if err != nil {
		return err
	}
	out := bufio.NewWriter(app.Stdout)
	defer out.Flush()
	res := checkResult{Version: jsonVersion, StateDir: s.Dir(), Repair: []string{}}
	if c.Repair {
		rep, err := s.Repair(ctx, sel)
		if rep != nil {
			res.Removed = rep.Removed
			res.Tightened = rep.Tightened
			if !c.JSON {
				for _, p := range rep.Removed {
					fmt.Fprintf(out, "removed %s\n", p)
				}
				if n := rep.Tightened; n > 0 {
					fmt.Fprintf(out, "made %s private (directories 0700, files 0600)\n", plural(n, "entry"))
				}
			}
		}
		if err != nil {
			return err
		}
	}
	progress := app.Report.Progress("check", selectionSize(s, sel))
	report, err := s.Check(ctx, sel, func(v store.Verdict) {
		progress.Add(dirSize(s.SnapshotDir(v.Snapshot)))
	})
	progress.Close()
	if err != nil {
		return err
	}
	res.Components, res.Checked, res.Findings = report.Components, report.Checked, report.Findings
	res.Problems = len(report.Problems())
	res.Repair = c.repairAdvice(app, report)

	if c.JSON {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	} else {
		printFindings(out, report)
		for _, line := range res.Repair {
			fmt.Fprintln(out, line)
		}
	}
	if res.Problems > 0 {
		out.Flush()
		return &store.IntegrityError{Problems: []string{fmt.Sprintf("%s in %s", plural(res.Problems, "problem"), s.Dir())}}
	}
	return nil
}

// printFindings prints one line per finding, problems first, then a
// summary line.
func printFindings(w io.Writer, r *store.CheckReport) {
	counts := map[string]int{}
	for _, pass := range []string{"problem", "warning", "note"} {
		for _, f := range r.Findings {
			if findingClass(f) != pass {
				continue
			}
			counts[pass]++
			label := map[string]string{"problem": "damaged", "warning": "warning", "note": "note"}[pass]
			if f.Kind == store.KindDangling || f.Kind == store.KindBadLink {
				label = "broken"
			}
			fmt.Fprintf(w, "%s: %s\n", label, f.Message)
		}
	}
	fmt.Fprintf(w, "checked %s of %s: %s, %s, %s\n",
		plural(r.Checked, "snapshot"), plural(r.Components, "component"),
		plural(counts["problem"], "problem"), plural(counts["warning"], "warning"), plural(counts["note"], "note"))
}

func findingClass(f store.Finding) string {
	switch {
	case f.Problem():
		return "problem"
	case f.Kind == store.KindNoChecksum, f.Kind == store.KindPermissions:
		return "warning"
	}
	return "note"
}

// repairAdvice says how to repair what check found: the command that does
// what can be done automatically, and for each damaged snapshot how to get
// a good copy.
func (c *SnapshotsCheckCmd) repairAdvice(app *App, r *store.CheckReport) []string {
	var lines, damaged []string
	var orphans, fixable, loose int
	for _, f := range r.Findings {
		switch {
		case f.Kind == store.KindMismatch || f.Kind == store.KindUnreadable:
			damaged = append(damaged, f.Snapshot)
		case f.Kind == store.KindOrphan:
			orphans++
		}
		switch {
		case f.Kind == store.KindPermissions:
			loose++
		case f.Repairable():
			fixable++
		}
	}
	if orphans > 0 {
		lines = append(lines, fmt.Sprintf("%s no generation points to: dysnomia snapshots gc%s removes them (and old generations: see --keep)",
			plural(orphans, "snapshot"), app.stateDirArg()+c.args()))
	}
	if len(damaged) > 0 {
		lines = append(lines,
			"damaged snapshots cannot be repaired from this machine: take them again if the component still holds that state, or import good copies from a machine that has them:",
			"  dysnomia snapshots export "+strings.Join(damaged, " ")+" | ssh THIS-HOST dysnomia snapshots import"+app.stateDirArg())
	}
	if loose > 0 {
		lines = append(lines, "other users can read snapshots or list the store: dysnomia snapshots check --repair"+app.stateDirArg()+c.args()+" makes it private (directories 0700, files 0600)")
	}
	if fixable > 0 {
		lines = append(lines, fmt.Sprintf("repair (removes %s: leftovers of interrupted writes, generations whose snapshot is gone): dysnomia snapshots check --repair%s",
			plural(fixable, "entry"), app.stateDirArg()+c.args()))
	}
	return lines
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// selectionSize adds up the sizes of the selection's snapshot directories,
// the total check reads; -1 when it cannot tell.
func selectionSize(s *store.Store, sel store.Selection) int64 {
	keys, err := s.Keys(sel)
	if err != nil {
		return -1
	}
	var n int64
	for _, k := range keys {
		n += dirSize(filepath.Join(s.Dir(), "snapshots", k.Container, k.Component))
	}
	return n
}

// dirSize adds up the sizes of the regular files below p.
func dirSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
