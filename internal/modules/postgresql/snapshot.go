package postgresql

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/pipe"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// dumpName is the payload file of our snapshots: a pg_dump custom-format
// archive without pg_dump's own compression (the store compresses it with
// zstd). Upstream's snapshots hold upstreamDumpName, plain SQL.
const (
	dumpName         = "dump.pgdump"
	upstreamDumpName = "dump.pgsql"
)

// ModuleType is the container type this module serves.
const ModuleType = "postgresql-database"

func (m Module) snapshot(ctx context.Context, req *module.Request, ss *session) error {
	name := req.Component.Name
	conn, err := ss.wait(ctx, req.Report, maintenanceDB(name))
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	// Hold the shared lock for the whole dump: a restore of this database
	// cannot start meanwhile, and one running now makes us stop.
	ok, err := lockRestore(ctx, conn, name, true)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("snapshot %s: a restore of database %q is in progress", name, name)
	}
	defer unlockRestore(ctx, conn, name, true)
	info, err := lookupDB(ctx, conn, name)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if !info.Exists {
		return fmt.Errorf("snapshot %s: database %q does not exist on PostgreSQL at %s", name, name, ss.where())
	}

	committed, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: ModuleType}, func(d *store.Dump) error {
		return ss.dump(ctx, req, name, d)
	})
	if err != nil {
		return err
	}
	req.Report.Infof("%s", committed.Summary())
	return nil
}

// dump streams pg_dump's custom-format archive of db, with its creation
// time normalised, into the payload. pg_dump runs in one repeatable-read
// transaction, so the archive is consistent while others write. A failing
// pg_dump fails the dump, whatever it wrote. Its output comes through a
// large pipe, read in large steps (package pipe).
func (ss *session) dump(ctx context.Context, req *module.Request, db string, d *store.Dump) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd, stderr, err := ss.tool(ctx, req.Env, "pg_dump", "--format=custom", "--compress=0", "--no-sync", dbArg(db))
	if err != nil {
		return err
	}
	out, pw, err := pipe.New()
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout = pw
	w, err := d.CreateDump(dumpName)
	if err != nil {
		pw.Close()
		return err
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("start pg_dump: %w", err)
	}
	z := &normalizer{w: w}
	_, cerr := io.CopyBuffer(z, pipe.NewReader(out), make([]byte, 1<<20))
	if cerr != nil {
		cancel() // a failed write must not leave pg_dump blocked on the pipe
	}
	werr := cmd.Wait()
	if werr != nil {
		w.Close()
		return runErr("pg_dump", werr, stderr.String())
	}
	if cerr != nil {
		w.Close()
		return fmt.Errorf("store pg_dump output: %w", cerr)
	}
	return errors.Join(z.Close(), w.Close())
}
