package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/dysnomia-go/dysnomia/internal/remote"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// RemoteFlags choose how another machine is reached.
type RemoteFlags struct {
	SSH            string `name:"ssh" placeholder:"CMD" help:"The ssh command, split into words at white space (no quotes or other shell syntax; put complex options in an ssh config file given with -F). Default: $$DYSNOMIA_SSH, else ssh."`
	RemoteDysnomia string `name:"remote-dysnomia" placeholder:"PATH" help:"The dysnomia program on the other machine (default: dysnomia, found on its PATH)."`
}

func (f RemoteFlags) client(app *App, host string) (*remote.Client, error) {
	if err := remote.CheckHost(host); err != nil {
		return nil, err
	}
	cmd, flag := f.SSH, "--ssh"
	if cmd == "" {
		cmd, flag = app.Getenv("DYSNOMIA_SSH"), "DYSNOMIA_SSH"
	}
	if cmd == "" {
		cmd = remote.DefaultSSH
	}
	words, err := remote.SplitCommand(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &remote.Client{SSH: words, Host: host, Dysnomia: f.RemoteDysnomia, Stderr: app.Stderr}, nil
}

// SnapshotsPushCmd is snapshots push.
type SnapshotsPushCmd struct {
	Host      string   `arg:"" name:"host" help:"The ssh destination ([user@]host or a ~/.ssh/config alias)."`
	Snapshots []string `arg:"" optional:"" name:"snapshot" help:"Push exactly these snapshots (<container>/<component>/<id>), in this order. Without them: every generation of the selection."`
	SnapshotSelection
	RemoteFlags
	JSON bool `name:"json" help:"Print a JSON summary: {version, direction, host, sent, skipped, bytes, seconds, snapshots: [{snapshot, status, generation}]}."`
}

// Run implements the command.
func (c *SnapshotsPushCmd) Run(ctx context.Context, app *App) error {
	return transferCmd(ctx, app, "push", c.Host, c.Snapshots, c.SnapshotSelection, c.RemoteFlags, c.JSON)
}

// SnapshotsPullCmd is snapshots pull.
type SnapshotsPullCmd struct {
	Host      string   `arg:"" name:"host" help:"The ssh destination ([user@]host or a ~/.ssh/config alias)."`
	Snapshots []string `arg:"" optional:"" name:"snapshot" help:"Pull exactly these snapshots (<container>/<component>/<id>), in this order. Without them: every generation of the selection on the host."`
	SnapshotSelection
	RemoteFlags
	JSON bool `name:"json" help:"Print a JSON summary, as push --json."`
}

// Run implements the command.
func (c *SnapshotsPullCmd) Run(ctx context.Context, app *App) error {
	return transferCmd(ctx, app, "pull", c.Host, c.Snapshots, c.SnapshotSelection, c.RemoteFlags, c.JSON)
}

func transferCmd(ctx context.Context, app *App, dir, host string, rels []string, selFlags SnapshotSelection, rf RemoteFlags, asJSON bool) error {
	sel, err := selFlags.selection()
	if err != nil {
		return err
	}
	snaps, err := parseRels(rels)
	if err != nil {
		return err
	}
	if len(snaps) > 0 && (sel.Container != "" || sel.Component != "") {
		return fmt.Errorf("snapshots %s: name snapshots or select with -C/-c, not both", dir)
	}
	client, err := rf.client(app, host)
	if err != nil {
		return err
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	opts := remote.Options{Report: app.Report}
	var sum *remote.Summary
	if dir == "push" {
		sum, err = remote.Push(ctx, s, client, sel, snaps, opts)
	} else {
		sum, err = remote.Pull(ctx, s, client, sel, snaps, opts)
	}
	if sum != nil {
		if asJSON {
			if jerr := writeJSON(app.Stdout, sum); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			out := bufio.NewWriter(app.Stdout)
			for _, it := range sum.Snapshots {
				fmt.Fprintf(out, "%s %s\n", it.Status, it.Snapshot)
			}
			out.Flush()
		}
		if err == nil {
			verb, prep := "pushed", "to"
			if dir == "pull" {
				verb, prep = "pulled", "from"
			}
			app.Report.Infof("%s %s (%s) %s %s in %.1f s; %d already there", verb, plural(sum.Sent, "snapshot"), ui.Bytes(sum.Bytes), prep, host, sum.Seconds, sum.Skipped)
		}
	}
	return err
}

// SnapshotsSendCmd is snapshots send, the remote end of pull.
type SnapshotsSendCmd struct{}

// Run implements the command.
func (c *SnapshotsSendCmd) Run(ctx context.Context, app *App) error {
	if isTerminalWriter(app.Stdout) {
		return errTerminalSession
	}
	var rels []string
	sc := bufio.NewScanner(app.Stdin)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			rels = append(rels, l)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("snapshots send: read the list of snapshots: %w", err)
	}
	snaps, err := parseRels(rels)
	if err != nil {
		return err
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	_, err = remote.Send(ctx, s, app.Stdout, snaps, nil)
	return err
}

// SnapshotsReceiveCmd is snapshots receive, the remote end of push.
type SnapshotsReceiveCmd struct{}

// Run implements the command.
func (c *SnapshotsReceiveCmd) Run(ctx context.Context, app *App) error {
	if isTerminalReader(app.Stdin) {
		return errTerminalSession
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	return remote.Receive(ctx, s, app.Stdin, nil, func(r remote.Received) error {
		for _, g := range r.Generations {
			app.Report.Infof("%s is generation %d", g.Snapshot.Rel(), g.N)
		}
		return remote.WriteResults(app.Stdout, r)
	})
}

var errTerminalSession = errors.New("refusing to use a terminal for a snapshot session: this command is the remote end of snapshots push and pull")

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
