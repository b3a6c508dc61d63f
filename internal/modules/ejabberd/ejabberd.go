// Package ejabberd is the ejabberd-dump module: the component is the
// Mnesia database of an ejabberd node (accounts, rosters, vCards, offline
// messages, …), managed with ejabberdctl.
//
// # Container properties
//
//	ejabberdUser       the OS user ejabberdctl runs as (default ejabberd, the
//	                   user Debian's and NixOS's ejabberd run as); dysnomia
//	                   must be root, or that user
//	ejabberdctl        path of ejabberdctl (default: found on PATH)
//	ejabberdConfigDir  passed to ejabberdctl as --config-dir
//	ejabberdConfig     … as --config
//	ejabberdctlConfig  … as --ctl-config (the ejabberdctl.cfg naming the node)
//	ejabberdSpoolDir   … as --spool; also where the work files go (default
//	                   /var/lib/ejabberd; ejabberdctl's own default)
//	ejabberdLogsDir    … as --logs
//	ejabberdNode       … as --node (default: the node ejabberdctl.cfg names)
//	timeout            seconds to wait for the node to answer `ejabberdctl
//	                   status` (default 10, at least 1)
//
// ejabberdctl runs with ejabberdUser's credentials (uid, gid, groups, HOME),
// started directly, never through su or a shell command line.
//
// # Component
//
// A file is itself the initial dump; a directory holds its dumps in
// ejabberd-dump/ (all regular files, merged). A dump is mnesia's text format,
// as `ejabberdctl dump` writes it.
//
// # Activities
//
//   - activate: the first time the component is activated (no activation
//     or garbage mark in the store), reads every dump through, merges them
//     and has the node load them with `ejabberdctl load`, which is one Mnesia
//     transaction: a dump that fails loads nothing. Later activations do not
//     load again (upstream reloaded every time). Then marks the component
//     active.
//   - deactivate: marks the component as garbage; the data stays.
//   - collect-garbage: for a component marked as garbage, `ejabberdctl
//     delete_mnesia` for every virtual host of the node, which deletes its
//     accounts and their data, and removes the mark. Nothing outside the
//     node's database is touched (upstream wiped /var/lib/ejabberd and the
//     log directories). The node must be running.
//   - snapshot: `ejabberdctl dump` into a work directory, stored in the
//     snapshot store as dump in a canonical form: every term on one line,
//     table definitions and records sorted, and an end marker counting the
//     records. The node writes tables and records in its own iteration
//     order; the canonical form depends only on the data, so an unchanged
//     database gives the same snapshot id and no new generation. Each table
//     is read in a transaction of its own.
//   - restore: verifies the snapshot and reads it through (end marker
//     included) before the node is touched; then deletes the data of every
//     virtual host (delete_mnesia) and loads the snapshot (one transaction).
//     Text dumps can only add records, so the deletion is what makes the
//     restore exact: records created after the snapshot in tables that
//     delete_mnesia does not cover (OAuth tokens, ejabberd's internal
//     tables) stay. A failure between the deletion and the end of the load
//     leaves the data incomplete; run the restore again. Upstream's snapshots
//     (dump, without an end marker) restore too.
//   - lock, unlock: nothing to do.
//   - shell: the session gets EJABBERDCTL and EJABBERD_USER.
//
// # Work files
//
// The node reads and writes dump files itself, and may have a /tmp of its
// own (Debian's unit has PrivateTmp), so they go into a private directory
// .dysnomia-<pid>-<random> in the spool directory, owned by ejabberdUser and
// removed when the activity ends; one left by a killed run is removed by the
// next run.
package ejabberd

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Type is the module's container type.
const Type = "ejabberd-dump"

// Module implements module.Module and module.ShellEnviron.
type Module struct{}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	if req.Report == nil {
		r := *req
		r.Report = ui.Discard
		req = &r
	}
	var err error
	switch req.Activity {
	case module.Deactivate:
		err = req.Store.MarkGarbage(req.Key())
	case module.Shell:
		err = shellHelp(req)
	case module.Activate, module.Snapshot, module.Restore, module.CollectGarbage:
		var s *settings
		if s, err = settingsOf(req); err != nil {
			break
		}
		switch req.Activity {
		case module.Activate:
			err = activate(ctx, req, s)
		case module.Snapshot:
			err = snapshot(ctx, req, s)
		case module.Restore:
			err = restore(ctx, req, s)
		case module.CollectGarbage:
			err = collectGarbage(ctx, req, s)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	return nil
}
