package influx

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// InitDir is the component's directory of initial import files.
const InitDir = "influx-databases"

// activate creates the database from the component's import files unless
// it exists, then marks the component active.
func activate(ctx context.Context, req *module.Request, s *settings) error {
	name := req.Component.Name
	files, err := initFiles(req.Component.Path)
	if err != nil {
		return err
	}
	// Read every file before touching the server.
	srcs := make([]source, len(files))
	for i, f := range files {
		rel, _ := filepath.Rel(req.Component.Path, f)
		srcs[i] = source{name: rel, open: func() (io.ReadCloser, error) { return os.Open(f) }}
		if _, err := check(srcs[i], name); err != nil {
			return fmt.Errorf("initial data %w", err)
		}
	}
	c := newClient(s)
	defer c.close()
	if err := c.waitReady(ctx, s.timeout, waitNotice(req, s)); err != nil {
		return err
	}
	exists, err := c.hasDatabase(ctx, name)
	if err != nil {
		return err
	}
	if exists {
		req.Report.Infof("database %q exists on %s; not loading the initial data", name, req.Container.Name)
	} else {
		if err := create(ctx, c, name, srcs); err != nil {
			if derr := c.exec(context.WithoutCancel(ctx), "DROP DATABASE "+quoteIdent(name)); derr != nil {
				return fmt.Errorf("%w; dropping the half-created database failed too: %v", err, derr)
			}
			return fmt.Errorf("%w (the database was not created)", err)
		}
		req.Report.Infof("created database %q on %s (%d import files)", name, req.Container.Name, len(srcs))
	}
	return req.Store.MarkActive(req.Key(), req.Component.Path)
}

// create runs the import files and creates the database if they did not.
func create(ctx context.Context, c *client, name string, srcs []source) error {
	for _, src := range srcs {
		if err := load(ctx, c, src, name); err != nil {
			return fmt.Errorf("initial data %w", err)
		}
	}
	ok, err := c.hasDatabase(ctx, name)
	if err != nil || ok {
		return err
	}
	return c.exec(ctx, "CREATE DATABASE "+quoteIdent(name))
}

// initFiles lists the regular files of influx-databases/ in byte order.
func initFiles(component string) ([]string, error) {
	dir := filepath.Join(component, InitDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("initial data: %w", err)
	}
	var files []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("initial data %s: %w", p, err)
		}
		if fi.Mode().IsRegular() {
			files = append(files, p)
		}
	}
	sort.Strings(files)
	return files, nil
}

// waitNotice reports once that the module waits for the server.
func waitNotice(req *module.Request, s *settings) func(error) {
	return func(err error) {
		req.Report.Infof("waiting up to %s for InfluxDB at %s (%v)", s.timeout, s.baseURL(), err)
	}
}
