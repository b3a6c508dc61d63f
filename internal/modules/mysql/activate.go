package mysql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ScriptDir is the component's directory of init scripts.
const ScriptDir = "mysql-databases"

// activate creates the database and loads the init scripts, unless the
// database exists, then marks the component active.
func activate(ctx context.Context, req *module.Request, s settings) error {
	name := req.Component.Name
	if err := checkName(name); err != nil {
		return err
	}
	scripts, err := initScripts(req.Component.Path)
	if err != nil {
		return err
	}
	conn, release, err := lockComponent(ctx, s, req, name)
	if err != nil {
		return err
	}
	defer release()

	exists, err := databaseExists(ctx, conn, name)
	if err != nil {
		return err
	}
	if exists {
		req.Report.Infof("database %q exists on %s; not loading init scripts", name, req.Container.Name)
	} else {
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
		if err := loadScripts(ctx, req, s, scripts); err != nil {
			// Drop what the scripts left, even when ctx was cancelled.
			if _, derr := conn.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+quoteIdent(name)); derr != nil {
				return fmt.Errorf("%w; dropping the half-created database failed too: %v", err, derr)
			}
			return err
		}
		req.Report.Infof("created database %q on %s (%d init scripts)", name, req.Container.Name, len(scripts))
	}
	if err := req.Store.MarkActive(req.Key(), req.Component.Path); err != nil {
		return err
	}
	return nil
}

// initScripts lists the component's mysql-databases/*.sql files in byte
// order. A component without the directory has none.
func initScripts(component string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(globEscape(filepath.Join(component, ScriptDir)), "*.sql"))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			return nil, fmt.Errorf("init script %s: %w", m, err)
		}
		if fi.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	sort.Strings(files)
	return files, nil
}

// globEscape quotes the metacharacters of a literal path for filepath.Glob.
func globEscape(p string) string {
	out := make([]rune, 0, len(p))
	for _, r := range p {
		switch r {
		case '*', '?', '[', '\\':
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// loadScripts runs each script in its own client session with the new
// database as the default database. The client stops at the first failing
// statement and reports its line; the error names the file.
func loadScripts(ctx context.Context, req *module.Request, s settings, scripts []string) error {
	if len(scripts) == 0 {
		return nil
	}
	c, err := newClient(req, s)
	if err != nil {
		return err
	}
	defer c.close()
	for _, file := range scripts {
		rel, _ := filepath.Rel(req.Component.Path, file)
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("init script %s: %w", rel, err)
		}
		cmd, err := c.command(ctx, clientTool, "--batch", "--database="+req.Component.Name)
		if err == nil {
			req.Report.Infof("loading %s into database %q", rel, req.Component.Name)
			err = run(cmd, f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("init script %s: %w", rel, err)
		}
	}
	return nil
}
