// Package sqlite is the sqlite-database module: each component is one SQLite
// database file, created from the component's init scripts and snapshotted
// while applications keep using it. It needs no server and no cgo (the
// driver is modernc.org/sqlite).
//
// Container properties:
//
//	sqliteDatabaseDir   required: the directory holding the databases. The
//	                    database of component <comp> is <dir>/<comp>.sqlite.
//	                    A relative path is taken from the working directory.
//	                    The directory is created (mode 0755) when missing.
//	sqliteOwner         optional "user" or "user:group" (names or numeric
//	                    ids): owner of the database files this module
//	                    creates, and of the directory when it creates it.
//	                    New files have mode 0600 either way.
//	sqliteJournalMode   optional DELETE, TRUNCATE, PERSIST or WAL: the journal
//	                    mode given to every database file this module
//	                    creates (by activate, or by a restore into a missing
//	                    file). Snapshots do not record the journal mode.
//	timeout             seconds to wait for a database locked by another
//	                    connection (default 10).
//
// The component is a directory; its init scripts are the regular files
// sqlite-databases/*.sql, run in byte-wise order of their names.
//
// Activities:
//
//   - activate: when the database file does not exist, create it under a
//     temporary name in the same directory, run every init script in one
//     transaction, sync it and link it into place, so a failing script leaves
//     no file behind; the error names the script, the line of the failing
//     statement and the statement. A script's own BEGIN/COMMIT (as in
//     sqlite3 .dump output) is skipped, since everything already runs in one
//     transaction. An existing file is left alone. Then the component is
//     marked active.
//   - deactivate: mark the component as garbage; the file stays.
//   - collect-garbage: only for a component marked as garbage, delete the
//     database file and then its -wal, -shm and -journal files.
//   - snapshot: VACUUM INTO a temporary file next to the database (one read
//     transaction: a consistent state even while other connections write;
//     in WAL mode writers are not blocked meanwhile, in rollback mode they
//     wait until it ends), then stream it into the snapshot store as
//     db.sqlite. The output of VACUUM INTO depends only on the content, not
//     on the file's history; the one header field that counts schema changes
//     (the schema cookie) is set to 1, so that unchanged data gives the same
//     snapshot id and adds no generation. (The header also records the
//     SQLite library version, so a new version of the driver makes one new
//     generation of unchanged data.)
//   - restore: verify the snapshot (checksum, then PRAGMA integrity_check on
//     a decompressed copy next to the database). If the database file exists,
//     copy the verified copy into it with SQLite's online backup, which is one
//     write transaction of the live database: other connections wait for it
//     and then see the restored content, a crash leaves the old content, and
//     the database's -wal/-shm files stay consistent with it. If the file is
//     missing, the verified copy is linked into place atomically. Without a
//     snapshot, restore does nothing.
//   - lock, unlock: nothing to do: SQLite has no sessions to fence off, and
//     every write of this module is a transaction.
//   - shell: the session gets SQLITE_DATABASE, the path of the database file.
//
// The init and restore copies are made next to the database (so they can be
// linked into place), named .<comp>.sqlite.<work>-<pid>-<random>, and
// removed when the activity ends; those a killed process left are removed
// by the next activity on the database. The snapshot copy is made in a work
// directory of the snapshot store, which gc and check --repair clear after a
// kill. The snapshot and restore copies need as much free space as the
// database.
package sqlite

import (
	"context"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module implements module.Module and module.ShellEnviron.
type Module struct{}

// Type is the container type this module serves.
const Type = "sqlite-database"

// Suffix is the file name extension of a component's database file.
const Suffix = ".sqlite"

// payloadName is the name of the database file inside a snapshot.
const payloadName = "db.sqlite"

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	var err error
	if req.Activity != module.Shell {
		err = sweep(req)
	}
	switch {
	case err != nil:
	case req.Activity == module.Activate:
		err = activate(ctx, req)
	case req.Activity == module.Deactivate:
		err = req.Store.MarkGarbage(req.Key())
	case req.Activity == module.Snapshot:
		err = snapshot(ctx, req)
	case req.Activity == module.Restore:
		err = restore(ctx, req)
	case req.Activity == module.CollectGarbage:
		err = collectGarbage(req)
	case req.Activity == module.Shell:
		err = shellHelp(req)
	case req.Activity == module.Lock, req.Activity == module.Unlock:
		return nil
	default:
		return fmt.Errorf("%s: unknown activity %q", Type, req.Activity)
	}
	if err != nil {
		return fmt.Errorf("%s sqlite database %q in container %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	return nil
}

// sweep removes what killed activities left next to the component's
// database, before any activity; a container without settings has none.
func sweep(req *module.Request) error {
	s, err := readSettings(req)
	if err != nil {
		return nil // the activity itself reports it
	}
	return clearStaleWork(s.path(req.Component.Name), req.Report.Warnf)
}

// settings are the container properties this module reads.
type settings struct {
	dir         string // absolute
	owner       *owner
	journalMode string // "" to leave SQLite's default
	timeout     time.Duration
}

type owner struct{ uid, gid int }

func readSettings(req *module.Request) (*settings, error) {
	dir := req.Property("sqliteDatabaseDir", "")
	if dir == "" {
		return nil, fmt.Errorf("container property sqliteDatabaseDir is not set")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("container property sqliteDatabaseDir=%q: %w", dir, err)
	}
	s := &settings{dir: abs, timeout: 10 * time.Second}
	if v := req.Property("timeout", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("container property timeout=%q: want a whole number of seconds", v)
		}
		s.timeout = time.Duration(n) * time.Second
	}
	if v := req.Property("sqliteJournalMode", ""); v != "" {
		switch m := strings.ToUpper(v); m {
		case "DELETE", "TRUNCATE", "PERSIST", "WAL":
			s.journalMode = m
		default:
			return nil, fmt.Errorf("container property sqliteJournalMode=%q: want DELETE, TRUNCATE, PERSIST or WAL", v)
		}
	}
	if v := req.Property("sqliteOwner", ""); v != "" {
		o, err := parseOwner(v)
		if err != nil {
			return nil, fmt.Errorf("container property sqliteOwner=%q: %w", v, err)
		}
		s.owner = o
	}
	return s, nil
}

// path is the database file of component name.
func (s *settings) path(name string) string {
	return filepath.Join(s.dir, name+Suffix)
}

// parseOwner resolves "user" or "user:group"; without a group the user's
// primary group is used.
func parseOwner(v string) (*owner, error) {
	name, group, hasGroup := strings.Cut(v, ":")
	if name == "" || hasGroup && group == "" {
		return nil, fmt.Errorf("want user or user:group")
	}
	o := &owner{}
	primary := -1
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		o.uid = n
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return nil, err
		}
		o.uid, _ = strconv.Atoi(u.Uid)
		primary, _ = strconv.Atoi(u.Gid)
	}
	switch {
	case hasGroup:
		if n, err := strconv.Atoi(group); err == nil && n >= 0 {
			o.gid = n
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return nil, err
			}
			o.gid, _ = strconv.Atoi(g.Gid)
		}
	case primary >= 0:
		o.gid = primary
	default:
		u, err := user.LookupId(name)
		if err != nil {
			return nil, fmt.Errorf("no group given and uid %s has no passwd entry: %w", name, err)
		}
		o.gid, _ = strconv.Atoi(u.Gid)
	}
	return o, nil
}
