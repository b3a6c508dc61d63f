package postgresql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/pipe"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/tail"
)

// tempNames are the names a restore of db uses: the fresh database being
// loaded, and the old database while it is being swapped out. They are
// derived from db's name, so that an interrupted restore is recognised.
func tempNames(db string) (fresh, aside string) {
	sum := sha256.Sum256([]byte(db))
	h := hex.EncodeToString(sum[:8])
	return "dysnomia-restore-" + h, "dysnomia-aside-" + h
}

func (m Module) restore(ctx context.Context, req *module.Request, ss *session) error {
	name := req.Component.Name
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("restore %s: no snapshot of %s; nothing to restore", name, req.Key())
		return nil
	}
	// The snapshot is verified against its checksum while it loads into
	// the fresh database; nothing replaces the old one unless it matched.
	payload, err := req.Store.ReadVerifying(ctx, sn)
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	defer payload.Verified() // when it returns early, the check ends first
	var load func(ctx context.Context, db string) error
	switch {
	case payload.Has(dumpName):
		load = func(ctx context.Context, db string) error { return ss.pgRestore(ctx, req, payload, db) }
	case payload.Has(upstreamDumpName):
		load = func(ctx context.Context, db string) error { return ss.psqlRestore(ctx, req, payload, db) }
	default:
		return fmt.Errorf("restore %s: snapshot %s holds neither %s nor %s (files: %v)", name, sn.Rel(), dumpName, upstreamDumpName, payload.Files())
	}

	conn, err := ss.wait(ctx, req.Report, maintenanceDB(name))
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	ok, err = lockRestore(ctx, conn, name, false)
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("restore %s: another restore or a snapshot of database %q is in progress", name, name)
	}
	defer unlockRestore(ctx, conn, name, false)
	if err := recoverSwap(ctx, req, conn, name); err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	old, err := lookupDB(ctx, conn, name)
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	fresh, aside := tempNames(name)
	if err := dropDatabase(ctx, conn, fresh); err != nil {
		return fmt.Errorf("restore %s: drop leftover database %q: %w", name, fresh, err)
	}

	// The fresh database copies the old one's owner, encoding and locale;
	// without an old one, the configured owner and encoding.
	q := "create database " + ident(fresh) + " template template0"
	owner := ss.Owner
	if old.Exists {
		owner = old.Owner
		q += " " + old.Create
	} else if ss.Encoding != "" {
		q += " encoding " + literal(ss.Encoding)
	}
	q += " owner " + ident(owner)
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("restore %s: create database %q: %w", name, fresh, err)
	}
	req.Report.Infof("restoring %s into a new database", sn.Rel())
	lerr := load(ctx, fresh)
	// A damaged snapshot explains a failed load better than the loader's
	// complaint does, and must stop one that succeeded.
	if verr := payload.Verified(); verr != nil {
		lerr = verr
	}
	if lerr != nil {
		dropDatabase(context.Background(), conn, fresh)
		return fmt.Errorf("restore %s from %s: %w; database %q is unchanged", name, sn.Rel(), lerr, name)
	}
	req.Report.Infof("loaded %s; swapping databases", sn.Rel())
	if err := swap(ctx, req, conn, name, fresh, aside, old.Exists); err != nil {
		dropDatabase(context.Background(), conn, fresh)
		return fmt.Errorf("restore %s: %w; database %q is unchanged", name, err, name)
	}
	if old.Exists {
		ss.dropReplaced(ctx, req, conn, name, aside)
	}
	req.Report.Infof("restored database %q from %s", name, sn.Rel())
	return nil
}

// swap puts the fresh database in place of name: the old one stops taking
// connections, its sessions are ended, it is renamed aside, and the fresh
// one takes its name. Until the fresh database has the name, every failure
// puts the old one back.
func swap(ctx context.Context, req *module.Request, conn *pgx.Conn, name, fresh, aside string, oldExists bool) error {
	// The renames commit synchronously, flushing the load's WAL with them.
	if _, err := conn.Exec(ctx, "set synchronous_commit to on"); err != nil {
		return err
	}
	if oldExists {
		if _, err := conn.Exec(ctx, "alter database "+ident(name)+" with allow_connections false"); err != nil {
			return fmt.Errorf("close database %q to new connections: %w", name, err)
		}
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if err = terminate(ctx, conn, name); err != nil {
				break
			}
			if _, err = conn.Exec(ctx, "alter database "+ident(name)+" rename to "+ident(aside)); err == nil || !inUse(err) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			conn.Exec(context.Background(), "alter database "+ident(name)+" with allow_connections true")
			return fmt.Errorf("move database %q aside: %w", name, err)
		}
	}
	if _, err := conn.Exec(ctx, "alter database "+ident(fresh)+" rename to "+ident(name)); err != nil {
		if oldExists {
			bctx := context.Background()
			if _, berr := conn.Exec(bctx, "alter database "+ident(aside)+" rename to "+ident(name)); berr != nil {
				return fmt.Errorf("rename the restored database: %w; putting the old one back failed too, it is now called %q: %v", err, aside, berr)
			}
			conn.Exec(bctx, "alter database "+ident(name)+" with allow_connections true")
		}
		return fmt.Errorf("rename the restored database: %w", err)
	}
	return nil
}

// dropReplaced drops the previous database, moved aside by swap, and
// returns once it is gone or provably going: its DROP DATABASE runs in the
// server, on a connection of its own, and has durably marked it invalid
// (pg_database.datconnlimit = -2, which the server writes and flushes to
// its WAL before it discards anything, from PostgreSQL 15.4, 14.9, 13.12,
// 12.16 and 11.21 on). From then on no session can connect to it, the
// server finishes the drop even when this process exits (the session
// turns client_connection_check_interval off, so a closed client does not
// interrupt it), and should the server stop before the end, the database
// is left invalid under its aside name, which the next activity on the
// component drops (recoverSwap). The restore does not wait for the rest of
// the drop: on the versions of PostgreSQL that force a checkpoint in DROP
// DATABASE, that checkpoint writes out the whole restored database.
// Servers that do not mark the database first are waited for until the
// drop has committed.
func (ss *session) dropReplaced(ctx context.Context, req *module.Request, conn *pgx.Conn, name, aside string) {
	kept := func(err error) {
		req.Report.Warnf("restore %s: the previous database is kept as %q: dropping it failed: %v", name, aside, err)
	}
	dc, err := ss.connect(ctx, maintenanceDB(name))
	if err != nil {
		req.Report.Infof("dropping the previous database %q", name)
		if err := dropDatabase(ctx, conn, aside); err != nil {
			kept(err)
		}
		return
	}
	// Unknown before PostgreSQL 14, which never checks a client while a
	// command runs.
	dc.Exec(ctx, "set client_connection_check_interval = 0")
	dc.Exec(ctx, "set statement_timeout = 0")
	done := make(chan error, 1)
	res := dc.PgConn().Exec(context.Background(), "drop database if exists "+ident(aside))
	go func() {
		_, err := res.ReadAll()
		dc.Close(context.Background())
		done <- err
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				kept(err)
			}
			return
		case <-ctx.Done():
			req.Report.Warnf("restore %s: interrupted while the previous database %q was being dropped; the next activity finishes that", name, aside)
			return
		case <-tick.C:
		}
		a, err := lookupDB(ctx, conn, aside)
		if err != nil {
			continue // the drop's own outcome decides
		}
		if !a.Exists || a.Invalid {
			req.Report.Infof("the previous database %q is being dropped by the server", name)
			return
		}
	}
}

// recoverSwap repairs what an interrupted restore left: an old database
// moved aside while name is missing is put back; one moved aside after the
// restored database took the name is dropped, as the restore would have.
func recoverSwap(ctx context.Context, req *module.Request, conn *pgx.Conn, name string) error {
	_, aside := tempNames(name)
	a, err := lookupDB(ctx, conn, aside)
	if err != nil || !a.Exists {
		return err
	}
	cur, err := lookupDB(ctx, conn, name)
	if err != nil {
		return err
	}
	if a.Invalid {
		// A restore's drop of it (see dropReplaced) has begun, and may
		// still run: wait for it, or finish it. It cannot be put back.
		req.Report.Infof("waiting for the drop of %q, the database %q had before a restore", aside, name)
		return dropDatabase(ctx, conn, aside)
	}
	if cur.Exists {
		req.Report.Warnf("dropping %q, the database %q had before an interrupted restore", aside, name)
		return dropDatabase(ctx, conn, aside)
	}
	req.Report.Warnf("putting back database %q from %q, where an interrupted restore left it", name, aside)
	if _, err := conn.Exec(ctx, "alter database "+ident(aside)+" rename to "+ident(name)); err != nil {
		return fmt.Errorf("put back database %q from %q: %w", name, aside, err)
	}
	_, err = conn.Exec(ctx, "alter database "+ident(name)+" with allow_connections true")
	return err
}

// loadOptions are the session settings of the programs that load a
// snapshot into the fresh database. Their commits need not wait for the WAL
// flush: until the swap nothing depends on the fresh database (a crash
// leaves only a temporary database, dropped by the next restore), and the
// swap's own commit, which is synchronous, flushes the WAL up to it, so the
// restored data is durable once it carries the name. The index builds at
// the end of the load sort in maintenance_work_mem (postgresqlRestoreMemory):
// the server's default, 64 MB, makes a primary key of a few million rows
// sort on disk.
func (ss *session) loadOptions() string {
	o := "-c synchronous_commit=off -c client_min_messages=warning"
	if ss.RestoreMemory != "" {
		o += " -c maintenance_work_mem=" + ss.RestoreMemory
	}
	return o
}

// pgRestore loads a custom-format archive into db with pg_restore, stopping
// at the first error. With postgresqlRestoreJobs > 1 the archive is first
// decompressed to a temporary file, because parallel jobs need a seekable
// archive; otherwise it streams through a pipe.
func (ss *session) pgRestore(ctx context.Context, req *module.Request, payload *store.Payload, db string) error {
	r, err := payload.Open(dumpName)
	if err != nil {
		return err
	}
	defer r.Close()
	src := r

	args := []string{"--exit-on-error", dbArg(db)}
	var stdin io.Reader = src
	if ss.RestoreJobs > 1 {
		file, cleanup, err := ss.spool(src)
		if err != nil {
			return fmt.Errorf("decompress %s for parallel restore: %w", dumpName, err)
		}
		defer cleanup()
		args = append(args, "--jobs="+strconv.Itoa(ss.RestoreJobs), file)
		stdin = nil
	}
	cmd, stderr, err := ss.tool(ctx, req.Env, "pg_restore", args...)
	if err != nil {
		return err
	}
	cmd.Env = append(cmd.Env, "PGOPTIONS="+ss.loadOptions())
	if err := pipe.Run(cmd, stdin); err != nil {
		if truncatedArchive(stderr.String()) {
			return &store.IntegrityError{Problems: []string{fmt.Sprintf(
				"snapshot %s: the archive is incomplete (its table of contents names data the archive does not hold): %s",
				payload.Rel(), strings.TrimSpace(stderr.String()))}}
		}
		return runErr("pg_restore", err, stderr.String())
	}
	return nil
}

// truncatedArchive tells from pg_restore's complaint that a custom-format
// archive ends before the data its table of contents lists. The table of
// contents is written first, so an archive cut anywhere after it — even
// cleanly between two tables' data — still names every data block, and
// pg_restore fails on the first one it cannot find.
func truncatedArchive(stderr string) bool {
	for _, m := range []string{"could not find block ID", "unexpected end of file", "could not read from input file: end of file"} {
		if strings.Contains(stderr, m) {
			return true
		}
	}
	return false
}

// psqlRestore loads an upstream plain-SQL dump into db with psql, stopping
// at the first error.
func (ss *session) psqlRestore(ctx context.Context, req *module.Request, payload *store.Payload, db string) error {
	r, err := payload.Open(upstreamDumpName)
	if err != nil {
		return err
	}
	defer r.Close()
	src := r
	cmd, stderr, err := ss.tool(ctx, req.Env, "psql", "-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", dbArg(db), "-f", "-")
	if err != nil {
		return err
	}
	cmd.Env = append(cmd.Env, "PGOPTIONS="+ss.loadOptions())
	end := &tail.Reader{R: src, Keep: 4096}
	err = pipe.Run(cmd, end)
	// A dump cut at a statement boundary loads without an error: only its
	// missing trailer tells. (When psql stopped early on an error, the end
	// was never read, and psql's error is the one to report.)
	if end.EOF() && !bytes.Contains(end.Tail(), []byte(plainTrailer)) {
		return &store.IntegrityError{Problems: []string{fmt.Sprintf(
			"snapshot %s: the dump ends without pg_dump's %q line: it was cut short, and loading it would restore only part of the database",
			payload.Rel(), strings.TrimSpace(plainTrailer))}}
	}
	if err != nil {
		return runErr("psql", err, stderr.String())
	}
	return nil
}

// plainTrailer is the line pg_dump ends a plain-format dump with (followed
// only by comment lines, and by \unrestrict in newer versions).
const plainTrailer = "\n-- PostgreSQL database dump complete\n"

// spool writes r to a file in a private temporary directory readable by the
// OS user the programs run as.
func (ss *session) spool(r io.Reader) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "dysnomia-pg-restore-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, dumpName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && ss.id.Switches() {
		if err = os.Chown(dir, ss.id.UID, ss.id.GID); err == nil {
			err = os.Chown(path, ss.id.UID, ss.id.GID)
		}
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return path, cleanup, nil
}
