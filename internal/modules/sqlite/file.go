package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// sidecars are the files SQLite keeps next to a database file.
var sidecars = []string{"-wal", "-shm", "-journal"}

// dsn is the driver's name for the existing database file path: a file: URI
// (so that '?', '#' and '%' in file names are escaped, not interpreted) with
// mode=rw, which never creates a missing file.
func dsn(path string, timeout time.Duration) string {
	u := url.URL{Path: path}
	return fmt.Sprintf("file:%s?mode=rw&_pragma=busy_timeout(%d)", u.EscapedPath(), timeout.Milliseconds())
}

// openDB opens the existing database file path with one connection.
func openDB(ctx context.Context, path string, timeout time.Duration) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, timeout))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// ensureDir creates the database directory when it is missing, owned by the
// configured owner.
func ensureDir(s *settings) error {
	fi, err := os.Stat(s.dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("sqliteDatabaseDir %s is not a directory", s.dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if s.owner != nil {
		if err := os.Chown(s.dir, s.owner.uid, s.owner.gid); err != nil {
			return err
		}
	}
	return atomicfile.SyncDir(filepath.Dir(s.dir))
}

// tempFile creates an empty file next to the database path for the work of
// kind ("init", "restore"): .<db>.<kind>-<pid>-<random>, so that the
// database it belongs to and the process that made it can be told from its
// name. The returned cleanup removes it and its sidecars; when the process
// is killed first, the next activity on the database removes them
// (clearStaleWork).
func tempFile(path, kind string) (string, func(), error) {
	f, err := os.CreateTemp(filepath.Dir(path), workPrefix(path)+kind+"-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", nil, err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", nil, err
	}
	return name, func() { removeFiles(name) }, nil
}

// workPrefix starts the names of the work files of the database path.
func workPrefix(path string) string { return "." + filepath.Base(path) + "." }

// clearStaleWork removes the work files (and their sidecars) that processes
// which no longer exist left next to the database path: a killed activate,
// restore or an older version's snapshot leaves a copy as large as the
// database. Work files of live processes are left alone.
func clearStaleWork(path string, warn func(string, ...any)) error {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	prefix := workPrefix(path)
	var errs []error
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() || hasSidecarSuffix(rest) {
			continue
		}
		if pid, ok := workOwner(rest); ok && processAlive(pid) {
			continue
		}
		p := filepath.Join(filepath.Dir(path), e.Name())
		warn("removing %s: left over by an interrupted %s", p, Type)
		if err := removeFiles(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// workOwner parses the pid out of "<kind>-<pid>-<random>"; names without
// one (made before work files carried it) have no live owner.
func workOwner(rest string) (int, bool) {
	parts := strings.Split(rest, "-")
	if len(parts) != 3 {
		return 0, false
	}
	switch parts[0] {
	case "init", "restore", "snapshot":
	default:
		return 0, false
	}
	pid, err := strconv.Atoi(parts[1])
	return pid, err == nil && pid > 0
}

func hasSidecarSuffix(name string) bool {
	for _, s := range sidecars {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeFiles removes a database file and then its sidecars, ignoring the
// ones that do not exist. Removing the database first means that an
// interruption never leaves a database without the journal it needs, only
// sidecars without their database, which prepareTarget clears.
func removeFiles(path string) error {
	var errs []error
	for _, p := range append([]string{""}, sidecars...) {
		if err := os.Remove(path + p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// clearOrphanSidecars removes -wal, -shm and -journal files left next to a
// database file that does not exist (by an interrupted removal). They are
// useless without their database, and SQLite would apply them to a new
// file of the same name.
func clearOrphanSidecars(path string, warn func(string, ...any)) error {
	for _, suf := range sidecars {
		p := path + suf
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		warn("removing %s: left over without its database", p)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// finishFile gives a new database file its mode and owner and syncs it.
func finishFile(path string, s *settings) error {
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	if s.owner != nil {
		if err := os.Chown(path, s.owner.uid, s.owner.gid); err != nil {
			return err
		}
	}
	return syncFile(path)
}

// install moves the finished file tmp to path, which must not exist: a hard
// link fails rather than replace a database created meanwhile. On file
// systems without hard links it falls back to a rename after checking.
func install(tmp, path string) error {
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s appeared meanwhile; left it alone", path)
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS):
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("%s appeared meanwhile; left it alone", path)
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	default:
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// existing reports whether the database file path exists; anything but a
// regular file (or a symlink to one) there is an error.
func existing(path string) (bool, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("%s is not a regular file", path)
	}
	return true, nil
}
