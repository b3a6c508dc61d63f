package ejabberd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// DumpDir is where a component directory holds its initial dumps.
const DumpDir = "ejabberd-dump"

// activate loads the component's initial dump into the node the first
// time the component is activated, then marks it active.
func activate(ctx context.Context, req *module.Request, s *settings) error {
	k := req.Key()
	active, err := req.Store.IsActive(k)
	if err != nil {
		return err
	}
	garbage, err := req.Store.IsGarbage(k)
	if err != nil {
		return err
	}
	if active || garbage {
		req.Report.Infof("%s was activated before; not loading its dump again", k)
		return req.Store.MarkActive(k, req.Component.Path)
	}
	files, err := initDumps(req.Component.Path)
	if err != nil {
		return err
	}
	// Read every dump before the node is touched; they load as one.
	all := &dump{tables: map[string]string{}}
	for _, f := range files {
		d, err := readDumpFile(f)
		if err != nil {
			return fmt.Errorf("initial dump %s: %w", f, err)
		}
		if err := all.merge(d); err != nil {
			return fmt.Errorf("initial dump %s: %w", f, err)
		}
	}
	if len(files) > 0 {
		if err := s.waitReady(ctx, req); err != nil {
			return err
		}
		if err := s.load(ctx, req, all, nil); err != nil {
			return fmt.Errorf("load the initial dump (nothing was loaded): %w", err)
		}
		req.Report.Infof("loaded %d records from %d dump files", len(all.records), len(files))
	}
	return req.Store.MarkActive(k, req.Component.Path)
}

// load has the node load d, in one Mnesia transaction. before, when not
// nil, runs once the dump file is written, right before the load.
func (s *settings) load(ctx context.Context, req *module.Request, d *dump, before func() error) error {
	dir, err := s.workDir(req)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := s.writeDump(dir, d)
	if err != nil {
		return err
	}
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	if _, err = s.run(ctx, "load", p); err != nil {
		return err
	}
	return s.clearCache(ctx)
}

// initDumps are the component itself when it is a file, else the regular
// files of its ejabberd-dump/ directory in byte order.
func initDumps(component string) ([]string, error) {
	fi, err := os.Stat(component)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		return []string{component}, nil
	}
	dir := filepath.Join(component, DumpDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("initial dumps: %w", err)
	}
	var files []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		} else if err != nil {
			return nil, fmt.Errorf("initial dump %s: %w", p, err)
		}
	}
	sort.Strings(files)
	return files, nil
}

func readDumpFile(path string) (*dump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseDump(f)
}
