package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/term"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/transfer"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// SnapshotsCmd manages the snapshot store: upstream's dysnomia-snapshots,
// plus check/repair and export/import between machines.
type SnapshotsCmd struct {
	List         SnapshotsListCmd         `cmd:"" help:"Print every generation of the selected components, oldest first, as <container>/<component>/<id> (upstream --query-all)."`
	Latest       SnapshotsLatestCmd       `cmd:"" help:"Print the latest generation of each selected component (upstream --query-latest)."`
	Check        SnapshotsCheckCmd        `cmd:"" help:"Verify every snapshot and generation of the selection; report every problem and how to repair it."`
	PrintMissing SnapshotsPrintMissingCmd `cmd:"" name:"print-missing" help:"Print the given snapshots that this store does not have (upstream --print-missing)."`
	Resolve      SnapshotsResolveCmd      `cmd:"" help:"Print the directory of each given snapshot (upstream --resolve)."`
	Add          SnapshotsAddCmd          `cmd:"" help:"Bring snapshot directories into the store and make each the latest generation (upstream --import)."`
	GC           SnapshotsGCCmd           `cmd:"" name:"gc" help:"Remove all but the latest generations, and every snapshot no generation points to (upstream --gc)."`
	Export       SnapshotsExportCmd       `cmd:"" help:"Write snapshots, verified, as one NAR stream to standard output (for snapshots import on another machine)."`
	Import       SnapshotsImportCmd       `cmd:"" help:"Read a stream written by snapshots export from standard input; verify and install its snapshots and generations."`
	Push         SnapshotsPushCmd         `cmd:"" help:"Send the snapshots another machine lacks over ssh and install them there; running it again sends nothing."`
	Pull         SnapshotsPullCmd         `cmd:"" help:"Fetch the snapshots this machine lacks from another over ssh and install them here."`
	Send         SnapshotsSendCmd         `cmd:"" hidden:"" help:"The remote end of pull: write the snapshots named on standard input as a snapshot session."`
	Receive      SnapshotsReceiveCmd      `cmd:"" hidden:"" help:"The remote end of push: install the snapshots of a session read from standard input, each as it completes."`
}

// SnapshotSelection picks containers and components; empty means all.
type SnapshotSelection struct {
	Container string `short:"C" placeholder:"NAME" help:"Only this container (a name, or a path whose base name is used)."`
	Component string `short:"c" placeholder:"NAME|PATH" help:"Only this component (a name, or a path: its base name without a Nix store hash)."`
}

// selection normalises both names the same way (upstream normalises only
// the component, and the container only in --import).
func (s SnapshotSelection) selection() (store.Selection, error) {
	var sel store.Selection
	for _, f := range []struct {
		flag, value string
		dst         *string
	}{{"--container", s.Container, &sel.Container}, {"--component", s.Component, &sel.Component}} {
		if f.value == "" {
			continue
		}
		name, err := config.ArgName(f.flag, f.value)
		if err != nil {
			return sel, err
		}
		*f.dst = name
	}
	return sel, nil
}

// args renders the selection as flags, for the commands we suggest.
func (s SnapshotSelection) args() string {
	out := ""
	if s.Container != "" {
		out += " -C " + shellQuote(config.NameOf(s.Container))
	}
	if s.Component != "" {
		out += " -c " + shellQuote(config.NameOf(s.Component))
	}
	return out
}

// SnapshotsListCmd is snapshots list.
type SnapshotsListCmd struct {
	SnapshotSelection
	Check bool `help:"Also verify each snapshot listed; exit 65 if any is damaged or missing."`
	JSON  bool `name:"json" help:"Print JSON (docs/json.md): {version, snapshots: [{container, component, generation, id, path, checksum, time, module, host, size, dumpSize, status}]}."`
}

// Run implements the command.
func (c *SnapshotsListCmd) Run(ctx context.Context, app *App) error {
	return listGenerations(ctx, app, c.SnapshotSelection, c.Check, c.JSON, false)
}

// SnapshotsLatestCmd is snapshots latest.
type SnapshotsLatestCmd struct {
	SnapshotSelection
	Check bool `help:"Also verify each snapshot listed; exit 65 if any is damaged or missing."`
	JSON  bool `name:"json" help:"Print JSON, as list --json."`
}

// Run implements the command.
func (c *SnapshotsLatestCmd) Run(ctx context.Context, app *App) error {
	return listGenerations(ctx, app, c.SnapshotSelection, c.Check, c.JSON, true)
}

func listGenerations(ctx context.Context, app *App, selFlags SnapshotSelection, check, asJSON, latestOnly bool) error {
	s, err := app.ExistingStore()
	if err != nil {
		return err
	}
	sel, err := selFlags.selection()
	if err != nil {
		return err
	}
	keys, err := s.Keys(sel)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(app.Stdout)
	defer out.Flush()
	rows := []snapshotRow{}
	verdicts := map[store.Snapshot]store.Verdict{}
	var problems []string
	for _, k := range keys {
		var gens []store.Generation
		if latestOnly {
			g, ok, err := s.LatestGeneration(k)
			if err != nil {
				return err
			}
			if ok {
				gens = []store.Generation{g}
			}
		} else if gens, err = s.Generations(k); err != nil {
			return err
		}
		for _, g := range gens {
			sn := g.Snapshot
			row := snapshotRow{Container: sn.Container, Component: sn.Component, Generation: g.N, ID: sn.ID, Path: s.SnapshotDir(sn)}
			if asJSON {
				row.Checksum, _, _ = s.Checksum(sn)
				row.Size = dirSize(s.SnapshotDir(sn))
				if md, err := s.Metadata(sn); err == nil && md != nil {
					t := md.Time
					row.Time, row.Module, row.Host = &t, md.Module, md.Host
					for _, f := range md.Files {
						row.DumpSize += f.DumpSize
					}
				}
			} else if _, err := fmt.Fprintln(out, sn.Rel()); err != nil {
				return err
			}
			if check {
				v, seen := verdicts[sn]
				if !seen {
					out.Flush()
					v = s.Inspect(sn)
					verdicts[sn] = v
					// The upstream tool name speaks upstream's words;
					// the modern command those of snapshots check.
					msg := v.String()
					if app.Prog == "dysnomia-snapshots" {
						msg = upstreamCheckMessage(v)
					}
					switch {
					case v.NoChecksum:
						app.Report.Warnf("%s", msg)
					case !v.OK():
						app.Report.Errorf("%s", msg)
						problems = append(problems, v.String())
					}
				}
				row.Status = verdictStatus(v)
			}
			rows = append(rows, row)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if asJSON {
		if err := writeJSON(out, listJSON{Version: jsonVersion, Snapshots: rows}); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		out.Flush()
		app.Report.Infof("to see everything that is wrong and how to repair it: dysnomia snapshots check%s", app.stateDirArg()+selFlags.args())
		return &store.IntegrityError{Problems: []string{fmt.Sprintf("%s of those listed damaged or missing", plural(len(problems), "snapshot"))}}
	}
	return nil
}

// upstreamCheckMessage words a failed verification as upstream's --check
// does; "" when the snapshot is fine.
func upstreamCheckMessage(v store.Verdict) string {
	switch {
	case v.Missing:
		return fmt.Sprintf("Snapshot missing: %s", v.Rel())
	case v.Err != nil:
		return fmt.Sprintf("Cannot verify snapshot: %s: %v", v.Rel(), v.Err)
	case v.NoChecksum:
		return fmt.Sprintf("no checksum found for snapshot: %s", v.Rel())
	case v.Have != v.Want:
		return fmt.Sprintf("Checksum mismatch detected for snapshot: %s, we have: '%s', we expect: '%s'", v.Rel(), v.Have, v.Want)
	}
	return ""
}

func verdictStatus(v store.Verdict) string {
	switch {
	case v.Missing:
		return "missing"
	case v.Err != nil:
		return "unreadable"
	case v.NoChecksum:
		return "no-checksum"
	case v.Have != v.Want:
		return "checksum-mismatch"
	}
	return "ok"
}

// SnapshotsPrintMissingCmd is snapshots print-missing.
type SnapshotsPrintMissingCmd struct {
	Snapshots []string `arg:"" optional:"" name:"snapshot" help:"Snapshots as <container>/<component>/<id>."`
	JSON      bool     `name:"json" help:"Print JSON (docs/json.md): {version, missing: [snapshot]}."`
}

// Run implements the command.
func (c *SnapshotsPrintMissingCmd) Run(app *App) error {
	s, err := app.Store()
	if err != nil {
		return err
	}
	snaps, err := parseRels(c.Snapshots)
	if err != nil {
		return err
	}
	missing := []string{}
	for _, sn := range snaps {
		if _, err := os.Lstat(s.SnapshotDir(sn)); os.IsNotExist(err) {
			missing = append(missing, sn.Rel())
		} else if err != nil {
			return err
		}
	}
	if c.JSON {
		return writeJSON(app.Stdout, missingJSON{Version: jsonVersion, Missing: missing})
	}
	out := bufio.NewWriter(app.Stdout)
	defer out.Flush()
	for _, rel := range missing {
		fmt.Fprintln(out, rel)
	}
	return nil
}

// SnapshotsResolveCmd is snapshots resolve.
type SnapshotsResolveCmd struct {
	Snapshots []string `arg:"" optional:"" name:"snapshot" help:"Snapshots as <container>/<component>/<id>."`
	JSON      bool     `name:"json" help:"Print JSON (docs/json.md): {version, snapshots: [{snapshot, path}]}."`
}

// Run implements the command.
func (c *SnapshotsResolveCmd) Run(app *App) error {
	s, err := app.ExistingStore()
	if err != nil {
		return err
	}
	snaps, err := parseRels(c.Snapshots)
	if err != nil {
		return err
	}
	// Every snapshot must exist before anything is printed: a caller
	// copies what it is given.
	var missing []string
	for _, sn := range snaps {
		if _, err := os.Lstat(s.SnapshotDir(sn)); err != nil {
			missing = append(missing, fmt.Sprintf("snapshot %s is missing from %s", sn.Rel(), filepath.Join(s.Dir(), "snapshots")))
		}
	}
	if len(missing) > 0 {
		return &store.IntegrityError{Problems: missing}
	}
	if c.JSON {
		doc := snapshotPathsJSON{Version: jsonVersion, Snapshots: []snapshotPath{}}
		for _, sn := range snaps {
			doc.Snapshots = append(doc.Snapshots, snapshotPath{sn.Rel(), s.SnapshotDir(sn)})
		}
		return writeJSON(app.Stdout, doc)
	}
	out := bufio.NewWriter(app.Stdout)
	defer out.Flush()
	for _, sn := range snaps {
		fmt.Fprintln(out, s.SnapshotDir(sn))
	}
	return nil
}

// parseRels accepts only <container>/<component>/<id> with safe segments
// (upstream accepts anything, ".." included).
func parseRels(rels []string) ([]store.Snapshot, error) {
	out := make([]store.Snapshot, 0, len(rels))
	for _, rel := range rels {
		sn, err := store.ParseRel(rel)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	return out, nil
}

// SnapshotsAddCmd is snapshots add.
type SnapshotsAddCmd struct {
	Container string   `short:"C" placeholder:"NAME" help:"The container (required; a path's base name is used)."`
	Component string   `short:"c" placeholder:"NAME|PATH" help:"The component (required; a path's base name without a Nix store hash is used)."`
	Paths     []string `arg:"" optional:"" name:"path" type:"path" help:"Snapshot directories, each named after its id. A path already in this store as a snapshot of the component only becomes the latest generation again."`
}

// Run implements the command.
func (c *SnapshotsAddCmd) Run(ctx context.Context, app *App) error {
	switch {
	case c.Container == "":
		return fmt.Errorf("snapshots add: no container specified (-C)")
	case c.Component == "":
		return fmt.Errorf("snapshots add: no component specified (-c)")
	}
	sel, err := SnapshotSelection{Container: c.Container, Component: c.Component}.selection()
	if err != nil {
		return err
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	k := store.Key{Container: sel.Container, Component: sel.Component}
	for _, p := range c.Paths {
		a, err := s.Add(ctx, k, p)
		if err != nil {
			return err
		}
		switch {
		case a.NewGeneration:
			app.Report.Infof("%s is generation %d", a.Rel(), a.Generation)
		default:
			app.Report.Infof("%s is already the latest generation (%d)", a.Rel(), a.Generation)
		}
	}
	return nil
}

// SnapshotsGCCmd is snapshots gc.
type SnapshotsGCCmd struct {
	SnapshotSelection
	Keep   string `default:"1" placeholder:"N" help:"How many of the latest generations of each component to keep (0 removes them all)."`
	DryRun bool   `name:"dry-run" help:"Only print what would be removed."`
	JSON   bool   `name:"json" help:"Print JSON (docs/json.md): {version, dryRun, keep, generations: [{snapshot, generation}], snapshots, strays}."`
}

// Run implements the command.
func (c *SnapshotsGCCmd) Run(ctx context.Context, app *App) error {
	keep, err := strconv.Atoi(c.Keep)
	if err != nil || keep < 0 {
		return fmt.Errorf("--keep %q: want a non-negative number of generations", c.Keep)
	}
	sel, err := c.selection()
	if err != nil {
		return err
	}
	s, err := app.ExistingStore()
	if err != nil {
		return err
	}
	var res *store.GCResult
	if c.DryRun {
		res, err = s.GCDryRun(ctx, sel, keep)
		if err == nil && len(res.Generations)+len(res.Snapshots)+len(res.Strays) == 0 {
			app.Report.Infof("dry run: nothing would be removed")
		}
	} else {
		res, err = s.GC(ctx, sel, keep)
	}
	if c.JSON && (err == nil || res != nil) {
		if jerr := writeJSON(app.Stdout, gcDocument(res, keep, c.DryRun)); err == nil {
			err = jerr
		}
	}
	return err
}

// SnapshotsExportCmd is snapshots export.
type SnapshotsExportCmd struct {
	SnapshotSelection
	Snapshots []string `arg:"" optional:"" name:"snapshot" help:"Export exactly these snapshots (<container>/<component>/<id>), in this order; the receiver's latest generation of a component is the last one named. Without them: every generation of the selection."`
	JSON      bool     `name:"json" help:"Print a JSON summary on standard error (standard output is the stream; docs/json.md): {version, snapshots: [{snapshot, status}], generations, bytes}."`
}

// Run implements the command.
func (c *SnapshotsExportCmd) Run(ctx context.Context, app *App) error {
	if isTerminalWriter(app.Stdout) {
		return transfer.ErrTerminal
	}
	sel, err := c.selection()
	if err != nil {
		return err
	}
	snaps, err := parseRels(c.Snapshots)
	if err != nil {
		return err
	}
	if len(snaps) > 0 && (sel.Container != "" || sel.Component != "") {
		return fmt.Errorf("snapshots export: name snapshots or select with -C/-c, not both")
	}
	s, err := app.ExistingStore()
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(app.Stdout, 1<<20)
	res, err := transfer.Export(ctx, s, out, sel, snaps)
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	app.Report.Infof("exported %d snapshots and %d generations (%s)", len(res.Snapshots), res.Generations, ui.Bytes(res.Bytes))
	if c.JSON {
		// Standard output is the stream: the summary goes to standard error.
		doc := transferJSON{Version: jsonVersion, Snapshots: []transferSnapshot{}, Generations: []generationJSON{}, Bytes: res.Bytes}
		for _, sn := range res.Snapshots {
			doc.Snapshots = append(doc.Snapshots, transferSnapshot{sn.Rel(), "exported"})
		}
		return writeJSON(app.Stderr, doc)
	}
	return nil
}

// SnapshotsImportCmd is snapshots import.
type SnapshotsImportCmd struct {
	JSON bool `name:"json" help:"Print JSON (docs/json.md): {version, snapshots: [{snapshot, status}], generations: [{snapshot, generation}], bytes}."`
}

// Run implements the command.
func (c *SnapshotsImportCmd) Run(ctx context.Context, app *App) error {
	if f, ok := app.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return transfer.ErrTerminal
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	in := &countReader{r: app.Stdin}
	res, err := transfer.Import(ctx, s, bufio.NewReaderSize(in, 1<<20))
	if c.JSON && res != nil {
		doc := transferJSON{Version: jsonVersion, Snapshots: []transferSnapshot{}, Generations: []generationJSON{}, Bytes: in.n}
		for _, sn := range res.Snapshots {
			doc.Snapshots = append(doc.Snapshots, transferSnapshot{sn.Rel(), sn.Status.String()})
		}
		for _, g := range res.Generations {
			doc.Generations = append(doc.Generations, generationJSON{g.Snapshot.Rel(), g.N})
		}
		if jerr := writeJSON(app.Stdout, doc); err == nil {
			err = jerr
		}
		return err
	}
	if res != nil {
		out := bufio.NewWriter(app.Stdout)
		for _, sn := range res.Snapshots {
			fmt.Fprintf(out, "%s %s\n", sn.Status, sn.Rel())
		}
		out.Flush()
		for _, g := range res.Generations {
			app.Report.Infof("%s is generation %d", g.Snapshot.Rel(), g.N)
		}
	}
	return err
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stateDirArg is " --state-dir DIR" when the state directory was given on
// the command line, for commands we suggest.
func (a *App) stateDirArg() string {
	if a.Globals != nil && a.Globals.StateDir != "" {
		return " --state-dir " + shellQuote(a.Globals.StateDir)
	}
	return ""
}
