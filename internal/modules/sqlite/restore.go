package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	msqlite "modernc.org/sqlite"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

func restore(ctx context.Context, req *module.Request) error {
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("no snapshot of %s; nothing to restore", req.Key())
		return nil
	}
	s, err := readSettings(req)
	if err != nil {
		return err
	}
	p, err := req.Store.Read(ctx, sn) // verifies the checksum
	if err != nil {
		return err
	}
	if !p.Has(payloadName) {
		return fmt.Errorf("snapshot %s holds no %s (not a %s snapshot?)", sn.Rel(), payloadName, Type)
	}
	if err := ensureDir(s); err != nil {
		return err
	}
	path := s.path(req.Component.Name)
	tmp, cleanup, err := tempFile(path, "restore")
	if err != nil {
		return err
	}
	defer cleanup()
	if err := extract(p.Open, tmp); err != nil {
		return fmt.Errorf("snapshot %s: %w", sn.Rel(), err)
	}
	if err := checkIntegrity(ctx, tmp, s); err != nil {
		return fmt.Errorf("snapshot %s: %w", sn.Rel(), err)
	}

	ok, err = existing(path)
	if err != nil {
		return err
	}
	if ok {
		err = copyOver(ctx, tmp, path, s)
	} else {
		err = createFrom(ctx, tmp, path, s, req.Report.Warnf)
	}
	if err != nil {
		return err
	}
	req.Report.Infof("restored %s from snapshot %s", path, sn.Rel())
	return nil
}

// extract decompresses the payload's database into the file tmp and syncs it.
func extract(open func(string) (io.ReadCloser, error), tmp string) error {
	r, err := open(payloadName)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", payloadName, err)
	}
	return nil
}

// checkIntegrity runs PRAGMA integrity_check on the database file path.
func checkIntegrity(ctx context.Context, path string, s *settings) error {
	db, err := openDB(ctx, path, s.timeout)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// createFrom makes the verified copy tmp the database file path, which does
// not exist.
func createFrom(ctx context.Context, tmp, path string, s *settings, warn func(string, ...any)) error {
	if err := clearOrphanSidecars(path, warn); err != nil {
		return err
	}
	if s.journalMode != "" {
		db, err := openDB(ctx, tmp, s.timeout)
		if err != nil {
			return err
		}
		err = setJournalMode(ctx, db, s.journalMode)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if err := finishFile(tmp, s); err != nil {
		return err
	}
	return install(tmp, path)
}

// restorer is the modernc.org/sqlite connection's online backup into itself.
type restorer interface {
	NewRestore(srcURI string) (*msqlite.Backup, error)
}

// copyOver replaces the content of the live database path by that of the
// verified copy src with SQLite's online backup: one write transaction of
// the live database, which waits for other connections (up to the timeout),
// is undone by SQLite if interrupted, and keeps the database's own journal
// mode, owner and mode.
func copyOver(ctx context.Context, src, path string, s *settings) error {
	db, err := openDB(ctx, path, s.timeout)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(restorer)
		if !ok {
			return fmt.Errorf("the sqlite driver has no online backup")
		}
		b, err := r.NewRestore(dsn(src, s.timeout))
		if err != nil {
			return err
		}
		for more := true; more && err == nil; {
			more, err = b.Step(-1)
		}
		if ferr := b.Finish(); err == nil {
			err = ferr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("copy into %s: %w", path, err)
	}
	return nil
}
