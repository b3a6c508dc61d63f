package postgresql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/program"
)

// scriptsDir is where a component keeps its init scripts (upstream layout).
const scriptsDir = "postgresql-databases"

// incomplete is the comment a database carries from its creation until its
// init scripts have committed. A database found with it was left behind by an
// interrupted activation and is created again.
const incomplete = "dysnomia: initialisation incomplete"

// initScripts lists the component's postgresql-databases/*.sql files in
// byte-wise order of their names.
func initScripts(component string) ([]string, error) {
	dir := filepath.Join(component, scriptsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") && !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

func (m Module) activate(ctx context.Context, req *module.Request, ss *session) error {
	name := req.Component.Name
	scripts, err := initScripts(req.Component.Path)
	if err != nil {
		return fmt.Errorf("activate %s: init scripts: %w", name, err)
	}
	texts, scans, direct, err := readScripts(scripts)
	if err != nil {
		return fmt.Errorf("activate %s: init scripts: %w", name, err)
	}
	conn, err := ss.wait(ctx, req.Report, maintenanceDB(name))
	if err != nil {
		return fmt.Errorf("activate %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	info, err := lookupDB(ctx, conn, name)
	if err != nil {
		return fmt.Errorf("activate %s: %w", name, err)
	}
	if info.Exists && info.Comment != incomplete {
		req.Report.Infof("database %q exists; nothing to initialise", name)
		return req.Store.RecordActive(req.Key(), req.Component.Path, req.Container.Type)
	}
	// Creating: hold the database's lock, repair an interrupted restore,
	// and look again.
	ok, err := lockRestore(ctx, conn, name, false)
	if err != nil {
		return fmt.Errorf("activate %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("activate %s: a restore or a snapshot of database %q is in progress", name, name)
	}
	defer unlockRestore(ctx, conn, name, false)
	if err := recoverSwap(ctx, req, conn, name); err != nil {
		return fmt.Errorf("activate %s: %w", name, err)
	}
	if info, err = lookupDB(ctx, conn, name); err != nil {
		return fmt.Errorf("activate %s: %w", name, err)
	}
	switch {
	case info.Exists && info.Comment == incomplete:
		req.Report.Warnf("database %q was left half-initialised by an interrupted activation; creating it again", name)
		if err := dropDatabase(ctx, conn, name); err != nil {
			return fmt.Errorf("activate %s: drop half-initialised database: %w", name, err)
		}
	case info.Exists:
		req.Report.Infof("database %q exists; nothing to initialise", name)
		return req.Store.RecordActive(req.Key(), req.Component.Path, req.Container.Type)
	}

	if err := ss.create(ctx, conn, name); err != nil {
		return fmt.Errorf("activate %s: %w", name, err)
	}
	req.Report.Infof("created database %q", name)
	run := func() error { return ss.runScripts(ctx, req, name, scripts) }
	if direct {
		run = func() error { return ss.runScriptsDirect(ctx, req, name, scripts, texts, scans) }
	}
	if err := run(); err != nil {
		if derr := dropDatabase(context.Background(), conn, name); derr != nil {
			return fmt.Errorf("activate %s (dropping the new database failed too: %v): %w", name, derr, err)
		}
		return fmt.Errorf("activate %s (the new database was dropped again): %w", name, err)
	}
	return req.Store.RecordActive(req.Key(), req.Component.Path, req.Container.Type)
}

// create makes an empty database with the configured owner, encoding and
// template, marked incomplete.
func (ss *session) create(ctx context.Context, conn *pgx.Conn, name string) error {
	q := "create database " + ident(name)
	if ss.Owner != "" {
		q += " owner " + ident(ss.Owner)
	}
	if ss.Template != "" {
		q += " template " + ident(ss.Template)
	}
	if ss.Encoding != "" {
		q += " encoding " + literal(ss.Encoding)
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "comment on database "+ident(name)+" is "+literal(incomplete)); err != nil {
		dropDatabase(ctx, conn, name)
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// runScripts runs the init scripts with psql (so that they may hold COPY …
// FROM stdin data and psql meta-commands, as pg_dump output does) in one
// transaction that stops at the first error, as the owner of the database.
// The transaction ends by removing the incomplete mark. Scripts of plain
// SQL go through the driver instead (runScriptsDirect, scripts.go).
func (ss *session) runScripts(ctx context.Context, req *module.Request, name string, scripts []string) error {
	staged, cleanup, err := ss.stage(scripts)
	if err != nil {
		return fmt.Errorf("init scripts: %w", err)
	}
	defer cleanup()

	args := []string{"-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", "--single-transaction", dbArg(name)}
	if ss.Owner != ss.User {
		args = append(args, "-c", "set role "+ident(ss.Owner))
	}
	for _, f := range staged {
		args = append(args, "-f", f)
	}
	args = append(args, "-c", clearIncomplete())
	cmd, stderr, err := ss.tool(ctx, req.Env, "psql", args...)
	if err != nil {
		return err
	}
	cmd.Env = append(cmd.Env, "PGOPTIONS=-c client_min_messages=warning")
	if len(scripts) > 0 {
		req.Report.Infof("running %d init script(s) of %s", len(scripts), name)
	}
	if err := cmd.Run(); err != nil {
		return scriptError(err, stderr, staged, scripts)
	}
	if msg := stderr.String(); msg != "" {
		req.Report.Warnf("init scripts of %s: %s", name, unstage(msg, staged, scripts))
	}
	return nil
}

// psqlError matches psql's error lines: "psql:FILE:LINE: ERROR:  message".
var psqlError = regexp.MustCompile(`(?m)^psql:(.*?):(\d+): (ERROR|FATAL|PANIC):\s+(.*)$`)

// scriptError names the file and line of the failing statement.
func scriptError(err error, stderr *program.Tail, staged, scripts []string) error {
	out := unstage(stderr.String(), staged, scripts)
	m := psqlError.FindStringSubmatch(out)
	if m == nil {
		return runErr("init scripts: psql", err, out)
	}
	detail := strings.TrimSpace(out[strings.Index(out, m[0])+len(m[0]):])
	msg := fmt.Sprintf("init script %s, line %s: %s: %s", m[1], m[2], m[3], m[4])
	if detail != "" {
		msg += "\n" + detail
	}
	return errors.New(msg)
}

// stage makes the scripts readable by the OS user psql runs as: files that
// user may not read (e.g. under a root-only directory) are copied into a
// private temporary directory owned by that user. Store paths are readable
// by everyone and are used in place.
func (ss *session) stage(scripts []string) (staged []string, cleanup func(), err error) {
	cleanup = func() {}
	if !ss.id.Switches() || len(scripts) == 0 {
		return scripts, cleanup, nil
	}
	var dir string
	staged = make([]string, len(scripts))
	for i, f := range scripts {
		if worldReadable(f) {
			staged[i] = f
			continue
		}
		if dir == "" {
			if dir, err = os.MkdirTemp("", "dysnomia-pg-init-"); err != nil {
				return nil, cleanup, err
			}
			cleanup = func() { os.RemoveAll(dir) }
			if err := os.Chown(dir, ss.id.UID, ss.id.GID); err != nil {
				cleanup()
				return nil, func() {}, err
			}
		}
		staged[i] = filepath.Join(dir, fmt.Sprintf("%03d-%s", i, filepath.Base(f)))
		if err := copyAs(f, staged[i], ss.id.UID, ss.id.GID); err != nil {
			cleanup()
			return nil, func() {}, err
		}
	}
	return staged, cleanup, nil
}

// unstage puts the component's paths back into psql's messages.
func unstage(msg string, staged, scripts []string) string {
	for i := range staged {
		if staged[i] != scripts[i] {
			msg = strings.ReplaceAll(msg, staged[i], scripts[i])
		}
	}
	return msg
}

// worldReadable reports whether any user can read path: the file is
// readable by others and every directory above it searchable by others.
func worldReadable(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		return false
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

func copyAs(src, dst string, uid, gid int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chown(uid, gid); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
