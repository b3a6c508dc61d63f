package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// initDir is the component's directory of init scripts.
const initDir = "sqlite-databases"

func activate(ctx context.Context, req *module.Request) error {
	s, err := readSettings(req)
	if err != nil {
		return err
	}
	path := s.path(req.Component.Name)
	ok, err := existing(path)
	if err != nil {
		return err
	}
	if !ok {
		scripts, err := initScripts(req.Component.Path)
		if err != nil {
			return err
		}
		if err := create(ctx, s, path, scripts, req.Report.Warnf); err != nil {
			return err
		}
		req.Report.Infof("created %s from %d init script(s)", path, len(scripts))
	}
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

// initScripts lists the component's sqlite-databases/*.sql files in byte-wise
// order of their names. A component without the directory has none.
func initScripts(component string) ([]string, error) {
	dir := filepath.Join(component, initDir)
	entries, err := os.ReadDir(dir) // sorted by name
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("init scripts: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p) // follows the symlinks Nix builds
		if err != nil {
			return nil, fmt.Errorf("init script %s: %w", p, err)
		}
		if fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out, nil
}

// create makes the database file path from scripts: it is built under a
// temporary name in the same directory and only linked into place once every
// script has run and the file is synced.
func create(ctx context.Context, s *settings, path string, scripts []string, warn func(string, ...any)) error {
	if err := ensureDir(s); err != nil {
		return err
	}
	if err := clearOrphanSidecars(path, warn); err != nil {
		return err
	}
	tmp, cleanup, err := tempFile(path, "init")
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := openDB(ctx, tmp, s.timeout)
	if err != nil {
		return err
	}
	err = runScripts(ctx, db, scripts)
	if err == nil && s.journalMode != "" {
		err = setJournalMode(ctx, db, s.journalMode)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := finishFile(tmp, s); err != nil {
		return err
	}
	return install(tmp, path)
}

// runScripts runs every statement of scripts in one transaction.
func runScripts(ctx context.Context, db *sql.DB, scripts []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range scripts {
		src, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("init script %s: %w", p, err)
		}
		for _, st := range splitStatements(string(src)) {
			skip, rollback := transactionControl(st)
			if rollback {
				return fmt.Errorf("init script %s, line %d: %s: a ROLLBACK cannot be honoured, all init scripts run in one transaction", p, st.Line, excerpt(st.Text))
			}
			if skip {
				continue
			}
			if _, err := tx.ExecContext(ctx, st.Text); err != nil {
				return fmt.Errorf("init script %s, line %d: %s: %w", p, st.Line, excerpt(st.Text), err)
			}
		}
	}
	return tx.Commit()
}

// setJournalMode switches the database to mode and checks that SQLite agreed.
func setJournalMode(ctx context.Context, db *sql.DB, mode string) error {
	var got string
	// mode is one of a fixed set of keywords, checked by readSettings.
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode="+mode).Scan(&got); err != nil {
		return fmt.Errorf("set journal mode %s: %w", mode, err)
	}
	if !strings.EqualFold(got, mode) {
		return fmt.Errorf("set journal mode %s: SQLite kept %s", mode, got)
	}
	return nil
}
