// Package mysql is the mysql-database module: it deploys a component as a
// database on a MariaDB (or MySQL) server and keeps its snapshots.
//
// # Container properties
//
//	mysqlSocket        the server's Unix socket (default /run/mysqld/mysqld.sock)
//	mysqlUsername      the account to connect as (default: the name of the
//	                   user running dysnomia, as the mariadb client does;
//	                   as root this is socket authentication with no password)
//	mysqlPasswordFile  a file holding the account's password (one line; a
//	                   trailing newline is ignored)
//	mysqlPassword      the password itself; accepted for compatibility with
//	                   upstream Dysnomia, with a warning, because it sits in
//	                   the container file or the environment. mysqlPasswordFile
//	                   wins when both are set.
//	mysqlBinDir        the directory of the client tools (mariadb,
//	                   mariadb-dump, or mysql, mysqldump); only it is
//	                   searched. Default: the module's PATH. system switch
//	                   sets it to <serverPackage>/bin, so that a snapshot
//	                   before an upgrade dumps with the running server's
//	                   own tools.
//	timeout            seconds to wait for the server to accept connections
//	                   (default 10)
//
// The password never reaches a command line: the server is reached through
// the Go driver, and the client tools (mariadb, mariadb-dump, or their
// mysql* names, from mysqlBinDir or the module's PATH) get it through a 0600 option
// file in a private temporary directory (--defaults-extra-file), removed
// when the activity ends.
//
// # Component
//
// The database is named after the component. Its initial state is every
// mysql-databases/*.sql file of the component, loaded in lexical (byte)
// order, each by its own mariadb client session with the new database as the
// default database.
//
// # Activities
//
//   - activate: waits up to timeout seconds for the server, then creates the
//     database unless a database of exactly that name exists, and loads the
//     init scripts. MariaDB cannot roll DDL back, so when a script fails the
//     half-created database is dropped and the error names the file and the
//     line the client reports. The component is marked active either way.
//   - deactivate: marks the component as garbage; the data stays.
//   - collect-garbage: drops the database, only when the component is marked
//     as garbage, then removes the mark.
//   - snapshot: mariadb-dump --single-transaction (a consistent InnoDB view
//     while other connections write) streamed into the snapshot store as
//     dump.sql. The dump carries no date (--skip-dump-date, and the
//     trailing "-- Dump completed" line is kept without one), so unchanged
//     data gives the same snapshot id and no new generation. A failed dump
//     is never stored.
//   - restore: loads the snapshot (ours, or upstream's dump.sql.xz) into a
//     temporary database on the same server while the store verifies it
//     against its checksum and, only when both succeeded, the load reached
//     the dump's end (its trailer, or for
//     upstream's dumps, which lost it, the final statements that restore the
//     session's settings: a dump cut at a statement boundary loads without
//     an error, and is refused with status 65), swaps the tables in with one
//     RENAME TABLE statement
//     (atomic for all tables). Tables, views and triggers the old database
//     had and the snapshot does not are dropped: the restore is exact. A
//     failing restore leaves the old data as it was. Views and triggers
//     cannot move between databases; they are dropped before the swap and
//     re-created after it, so for that moment they are absent. Stored
//     routines and events are not part of a snapshot and are left alone.
//     A restore needs room for a second copy of the database.
//   - lock: succeeds unless a restore, activation or garbage collection of
//     the component is running (they hold a MariaDB named lock); with the
//     server down it succeeds, as nothing can be running. unlock does
//     nothing.
//   - probe (module.Prober, for system switch): whether the database is
//     absent, empty (no table or view) or holds data; changes nothing.
//   - shell: prints the mariadb command line that reaches the database (with
//     the socket and the account) and sets MYSQL_UNIX_PORT for the session.
//
// # Privileges
//
// The account needs all privileges on the component's database, and for
// restore on the work databases, named "dysnomia-restore-…" and
// "dysnomia-replaced-…" (GRANT ALL ON `dysnomia-%`.* …). root over the
// socket has them.
package mysql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Type is the module's container type.
const Type = "mysql-database"

// Module implements module.Module and module.ShellEnviron.
type Module struct{}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Deactivate:
		if err := req.Store.MarkGarbage(req.Key()); err != nil {
			return fmt.Errorf("deactivate %s: %w", describe(req), err)
		}
		return nil
	case module.Unlock:
		return nil
	case module.Shell:
		return shellHelp(req)
	}
	s, err := settingsOf(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Activity, describe(req), err)
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
		err = lock(ctx, req, s)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Activity, describe(req), err)
	}
	return nil
}

// describe names the database and its container for error messages:
// `database "app" on mysql-database`.
func describe(req *module.Request) string {
	return fmt.Sprintf("database %q on %s", req.Component.Name, req.Container.Name)
}
