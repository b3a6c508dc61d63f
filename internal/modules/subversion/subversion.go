// Package subversion is the subversion-repository module: each component is
// one Subversion repository, <svnBaseDir>/<component>, created from the
// component's dump files and snapshotted with its whole history.
//
// # Container properties
//
//	svnBaseDir  required: the absolute directory holding the repositories
//	            (created, mode 0755, when missing). The repository of
//	            component <comp> is <svnBaseDir>/<comp>.
//	svnGroup    optional: a group (name or number). Repositories this
//	            module creates get it on every file, group write permission
//	            and the set-group-id bit on db/, so that the members (an
//	            svnserve or web server account) can commit.
//
// svnadmin and svnlook are looked up on the module's PATH.
//
// # Component
//
// The regular files subversion-repositories/* of the component, in byte
// order of their names and concatenated, are the initial dump (svnadmin dump
// output; a dump split into several files loads too). Without them the
// repository starts empty.
//
// # Activities
//
//   - activate: unless the repository exists, create it under a work name,
//     load the initial dump, apply svnGroup, and rename it into place, so a
//     failing dump leaves nothing behind; the error names the dump files.
//     An existing repository is left alone; a directory there that is not a
//     Subversion repository is an error. The component is then marked active.
//   - deactivate: mark the component as garbage; the repository stays.
//   - collect-garbage: only for a component marked as garbage, remove the
//     repository (renamed aside first, so a crash leaves no half-removed
//     repository behind).
//   - snapshot: `svnadmin dump` of every revision, 0 to the youngest, into
//     the snapshot store as dump.svndump, plus a file "youngest" holding that
//     revision number. The dump of the same history is the same bytes (dates
//     and authors are revision properties, part of the data), so an
//     unchanged repository gives the same snapshot id and no new generation;
//     a changed revision property makes a new one. Commits made meanwhile are
//     not part of the snapshot.
//   - restore: verify the snapshot, load it into a new repository next to the
//     old one, check that it reached the recorded youngest revision, copy the
//     old repository's conf/ and hooks/ into it (they are configuration, not
//     part of any dump), apply svnGroup, and exchange the two atomically
//     (renameat2 RENAME_EXCHANGE); the old one is then removed. The revision
//     numbers, the repository UUID and every revision property come back
//     exactly; svn locks (held on paths) are not part of a dump and are
//     gone. A failing load leaves the old repository as it was. Upstream's
//     snapshots (dump.xz, the youngest revision as a single full-tree
//     revision) restore too, as a repository of that one revision.
//   - lock: refuses while an activation, restore or garbage collection of
//     the repository runs; unlock does nothing.
//   - shell: prints help; the session gets SVN_REPOSITORY (the path) and
//     SVN_URL (its file:// URL).
//
// # Work files
//
// <svnBaseDir>/.dysnomia/<comp>/ holds the component's lock file and, while
// an activity runs, the repository being built ("new") or removed ("old").
// Leftovers of a killed run are removed by the next activation, restore or
// garbage collection of the component. A component may therefore not be
// named ".dysnomia". Restore needs room for a second copy of the repository.
//
// Upstream's id of a snapshot was the youngest revision number; ours is the
// content hash, like every other module's, so that the dump of one history
// has one id wherever it was taken.
package subversion

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Type is the module's container type.
const Type = "subversion-repository"

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
	case module.Unlock:
	case module.Shell:
		err = shellHelp(req)
	case module.Activate, module.Snapshot, module.Restore, module.CollectGarbage, module.Lock:
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
		case module.Lock:
			err = lock(req, s)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Activity, describe(req), err)
	}
	return nil
}

// describe names the repository and its container for error messages:
// `repository "app" on subversion-repository`.
func describe(req *module.Request) string {
	return fmt.Sprintf("repository %q on %s", req.Component.Name, req.Container.Name)
}
