// Package postgresql is the postgresql-database module: one PostgreSQL
// database per component, named after the component.
//
// # Component
//
// A component may hold init scripts in postgresql-databases/*.sql. All of
// them run, in byte-wise order of their names, when the database is created.
//
// # Container properties
//
//	postgresqlUsername     database role used for everything, and the OS user the
//	                       PostgreSQL programs run as when Dysnomia runs as root
//	                       (peer authentication); default "postgres"
//	postgresqlPort         server port (names the Unix socket); default 5432
//	postgresqlRuntimeDir   Unix socket directory; default /run/postgresql
//	                       (upstream: /var/run/postgresql, the same on NixOS)
//	postgresqlHost         connect over TCP to this host instead; an absolute path
//	                       is a socket directory and overrides postgresqlRuntimeDir
//	postgresqlPasswordFile file whose first line is the role's password (for
//	                       password authentication); passed to the server and to
//	                       the programs in their environment, never on a command line
//	postgresqlOwner        owner of created databases; default postgresqlUsername.
//	                       The init scripts run as this role (SET ROLE).
//	postgresqlEncoding     encoding of created databases, e.g. UTF8; default the
//	                       template's
//	postgresqlTemplate     template of created databases; default template1
//	postgresqlBinDir       directory of psql, pg_dump and pg_restore; default: PATH
//	postgresqlRestoreJobs  parallel pg_restore jobs; default 1 (see Snapshot format)
//	postgresqlRestoreMemory maintenance_work_mem of the restore's load (its
//	                       index builds), e.g. 1GB; default 256MB; "default"
//	                       keeps the server's
//	timeout                seconds to wait for the server to answer; default 10
//
// # Activities
//
// activate waits (up to timeout seconds, reporting progress) until the
// server answers. If no database has exactly the component's name, it is
// created (owner, encoding, template as configured) and the init scripts run
// in one transaction that stops at the first error: through the driver when
// they are plain SQL, else with psql, so that scripts may be pg_dump output
// with COPY data and meta-commands, as upstream allows (scripts.go tells
// which). If a script fails, the database is
// dropped again and the error names the file and line. Until the scripts have
// committed the database carries the comment "dysnomia: initialisation
// incomplete", so a database left by an interrupted activation is recognised
// and created again rather than taken as initialised. An existing database is
// left alone. Either way the component is marked active.
//
// deactivate marks the component as garbage; the database stays.
// collect-garbage drops the database of a component marked as garbage,
// ending its sessions first, and does nothing for an active one.
//
// snapshot streams `pg_dump --format=custom --compress=0` into the snapshot
// store, which compresses with zstd (store.CreateDump: the fastest level,
// with entropy coding of blocks without matches, on one goroutine; its
// settings are part of what makes the id, so unchanged data snapshotted by
// a version with other settings gets a new id once). pg_dump reads one consistent
// (repeatable-read) view of the database while others write. The archive's
// creation time is set to a fixed value (see archive.go), so an unchanged
// database gives the same bytes, the same snapshot id and no new generation.
// A pg_dump that fails stores nothing.
//
// restore loads the snapshot (latest generation, or a named id) into a
// fresh database with a temporary name, with the old database's owner,
// encoding and locale, stopping at the first error, while the store
// verifies the snapshot against its checksum; only when both succeeded it
// swaps: the old database stops taking connections, its sessions are
// ended, it is renamed aside, the fresh one takes its name (a synchronous
// commit: from then on the restored database is durable), and the old one
// is dropped. The restore returns once that drop is provably going: the
// server has durably marked the old database invalid and finishes the drop
// on its own (see dropReplaced). A failing restore leaves the old database
// untouched; an interrupted swap or drop is repaired by the next activity. Our
// snapshots (dump.pgdump) load with pg_restore, streamed through a pipe;
// with postgresqlRestoreJobs > 1 the archive is first decompressed to a
// temporary file and loaded with that many parallel jobs. Upstream's
// snapshots (dump.pgsql.xz, plain SQL) load with psql. Database-level
// settings (ALTER DATABASE … SET, GRANTs on the database itself) are not
// part of a snapshot, as upstream. Object owners are restored, so their
// roles must exist.
//
// lock refuses while a restore of the database is in progress (restore holds
// a PostgreSQL advisory lock; snapshot and collect-garbage take it too);
// unlock does nothing. shell prints help and sets PGHOST, PGPORT, PGUSER and
// PGDATABASE.
//
// The module is a module.Prober: system switch asks it, before restoring a
// pre-upgrade snapshot into a new server, whether the database is absent,
// empty (no table, view or sequence outside the system schemas and
// extensions) or holds data.
//
// # Snapshot format
//
// Custom format rather than directory format, chosen by measurement
// (pgbench scale 70, 1 GB, PostgreSQL 15, 2 cores shared with other work,
// two runs each): `pg_dump -Fc -Z0 | zstd` took 4.1-4.2 s against 3.7-4.6 s
// for `pg_dump -Fd -j2 -Z0`, and `zstd -d | pg_restore` 11.5-12.9 s against
// 10.8-11.0 s for `pg_restore -j2` of the directory. Directory format gains
// a little on restore, but needs the whole uncompressed dump (650 MB there)
// on disk at snapshot time and again at restore time; a custom archive
// streams from pg_dump into the store and from the store into pg_restore
// with no temporary copy, whatever the database's size. bench/postgresql
// compares both activities with plain pg_dump -Fc and pg_restore.
//
// With postgresqlRestoreJobs > 1, restore decompresses the archive to a
// file in $TMPDIR and runs pg_restore --jobs: worth it for databases of
// many large tables and indexes on machines with cores to spare, not for
// one dominant table (pgbench scale 70 on 2 cores: 14-18 s against 9-10 s
// for the plain loads, `go run ./bench/postgresql -prop
// postgresqlRestoreJobs=2`).
//
// # Connections
//
// The module connects with pgx over the Unix socket (or TCP) as
// postgresqlUsername. As root with peer authentication, the connection is
// made with that OS user's identity (package peer), and psql, pg_dump and
// pg_restore run as that user (setuid, no shell). Names are always quoted
// as identifiers; databases are found by exact name.
package postgresql

import (
	"context"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// maxNameLen is PostgreSQL's limit for identifiers (NAMEDATALEN-1); longer
// names would be truncated by the server and then not found by exact name.
const maxNameLen = 63

// Module implements module.Module and module.ShellEnviron.
type Module struct{}

// Run implements module.Module.
func (m Module) Run(ctx context.Context, req *module.Request) error {
	if req.Report == nil {
		r := *req
		r.Report = ui.Discard
		req = &r
	}
	switch req.Activity {
	case module.Deactivate:
		return m.deactivate(req)
	case module.Shell:
		shellHelp(req)
		return nil
	case module.Unlock:
		return nil
	case module.Activate, module.Snapshot, module.Restore, module.CollectGarbage, module.Lock:
	default:
		return nil
	}
	if n := req.Component.Name; len(n) > maxNameLen || strings.ContainsRune(n, 0) {
		return fmt.Errorf("%s %s: a PostgreSQL database name has at most %d bytes and no NUL", req.Activity, n, maxNameLen)
	}
	s, err := loadSettings(req)
	if err != nil {
		return err
	}
	ss, err := newSession(s)
	if err != nil {
		return err
	}
	switch req.Activity {
	case module.Activate:
		return m.activate(ctx, req, ss)
	case module.Snapshot:
		return m.snapshot(ctx, req, ss)
	case module.Restore:
		return m.restore(ctx, req, ss)
	case module.CollectGarbage:
		return m.collectGarbage(ctx, req, ss)
	case module.Lock:
		return m.lock(ctx, req, ss)
	}
	return nil
}
