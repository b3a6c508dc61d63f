package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// schemaCookieOffset is where the database header keeps the schema cookie, a
// counter SQLite bumps on every schema change so that connections reload the
// schema. It tells nothing about the content.
const schemaCookieOffset = 40

func snapshot(ctx context.Context, req *module.Request) error {
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
		return fmt.Errorf("%s does not exist (is the component activated?)", path)
	}
	// The copy goes into a work directory of the store: a killed snapshot
	// leaves it where gc and check --repair find it.
	work, err := req.Store.TempDir("sqlite-snapshot")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tmp := filepath.Join(work, payloadName)
	if err := vacuumInto(ctx, path, tmp, s); err != nil {
		return err
	}
	c, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: Type}, func(d *store.Dump) error {
		return copyInto(d, tmp)
	})
	if err != nil {
		return err
	}
	req.Report.Infof("%s", c.Summary())
	return nil
}

// vacuumInto writes a compact copy of the database path to the empty file
// out, in one read transaction, and makes the copy's header independent of
// the database's history.
func vacuumInto(ctx context.Context, path, out string, s *settings) error {
	db, err := openDB(ctx, path, s.timeout)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", out)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return normaliseHeader(out)
}

// normaliseHeader sets the schema cookie of the database file path to 1.
// Restores bump the live database's cookie themselves (SQLite's backup does),
// and a file linked into place is new to every connection, so the value is
// free to choose.
func normaliseHeader(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var hdr [100]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("read header of %s: %w", path, err)
	}
	if string(hdr[:16]) != "SQLite format 3\x00" {
		return fmt.Errorf("%s is not an SQLite database", path)
	}
	if _, err := f.WriteAt([]byte{0, 0, 0, 1}, schemaCookieOffset); err != nil {
		return err
	}
	return f.Close()
}

// copyInto streams the file path into the snapshot as db.sqlite.
func copyInto(d *store.Dump, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := d.Create(payloadName)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
