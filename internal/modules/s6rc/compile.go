package s6rc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// compileAndSwitch compiles serviceDir into a fresh database, makes s6-rc
// use it and brings the bundle up.
func (s *settings) compileAndSwitch(ctx context.Context, req *module.Request) error {
	run := service.Runner(req)
	if err := os.MkdirAll(s.CompileDir, 0o755); err != nil {
		return err
	}
	// s6-rc-compile wants a path that does not exist yet.
	tmp, err := os.MkdirTemp(s.CompileDir, "compiled-")
	if err != nil {
		return err
	}
	db := tmp + "-db"
	os.Remove(tmp)
	if err := run.Run(ctx, "s6-rc-compile", db, s.ServiceDir); err != nil {
		os.RemoveAll(db)
		return err
	}
	current := filepath.Join(s.CompileDir, "compiled")
	old, _ := os.Readlink(current)
	if _, err := os.Stat(s.LiveDir); err == nil {
		err = run.Run(ctx, "s6-rc-update", "-l", s.LiveDir, db)
		if err != nil {
			os.RemoveAll(db)
			return err
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		if err := run.Run(ctx, "s6-rc-init", "-c", db, "-l", s.LiveDir, s.ScanDir); err != nil {
			os.RemoveAll(db)
			return err
		}
	} else {
		return err
	}
	if err := service.Symlink(db, current); err != nil {
		return err
	}
	if old != "" && old != db && filepath.Dir(old) == filepath.Clean(s.CompileDir) && strings.HasPrefix(filepath.Base(old), "compiled-") {
		if err := os.RemoveAll(old); err != nil {
			service.Report(req).Warnf("remove the previous s6-rc database %s: %v", old, err)
		}
	}
	if err := run.Run(ctx, "s6-rc", "-l", s.LiveDir, "-u", "change", s.Bundle); err != nil {
		return fmt.Errorf("bring bundle %s up: %w", s.Bundle, err)
	}
	return nil
}

// withdraw takes the component out and switches s6-rc to a database
// without it, which stops its services.
func (s *settings) withdraw(ctx context.Context, req *module.Request) error {
	if err := s.unstage(); err != nil {
		return err
	}
	return s.compileAndSwitch(ctx, req)
}
