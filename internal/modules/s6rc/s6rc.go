// Package s6rc is the s6-rc-service module: services managed by s6-rc,
// from s6-rc service definitions the component carries.
//
// # Component
//
//	etc/s6/sv/<service>/              s6-rc source definitions (type, run, …)
//	dysnomia-support/{users,groups}/  accounts (package users)
//
// # Container properties
//
//	scanDir      s6-svscan's scan directory (for s6-rc-init); default /var/run/service
//	serviceDir   the source directory all components' definitions are linked
//	             into; default /var/lib/s6/sv
//	compileDir   where compiled databases are kept; default /var/etc/s6/rc
//	             (upstream's code uses this one; its documentation said
//	             /var/etc/s6-rc)
//	liveDir      s6-rc's live directory; default /var/run/s6-rc
//	bundleName   the bundle holding every deployed service; default "default"
//
// # Activities
//
// activate creates the accounts, links each definition into serviceDir and
// adds it to the bundle (created as an empty bundle when missing; its
// contents file lists one service a line), compiles serviceDir into a new
// database in compileDir (s6-rc-compile), switches s6-rc to it
// (s6-rc-update, or s6-rc-init when there is no live directory yet), brings
// the bundle up (s6-rc -u change), points compileDir/compiled at the new
// database and deletes the previous one; then it marks the component
// active. If a step fails, the component's definitions are taken out again
// and the database recompiled and switched to, and the accounts are
// removed. deactivate takes them out the same way (s6-rc-update stops
// services that are no longer in the database), then deletes the accounts
// and removes the marker.
//
// Unlike upstream, accounts are deleted only on deactivate and rollback
// (upstream's shared compile step deleted them on activate too), rollback
// cleans up this component, and a database is always compiled afresh
// (upstream reused one named after the component's store hash, which could
// be stale).
package s6rc

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

// Defaults of the properties.
const (
	DefaultScanDir    = "/var/run/service"
	DefaultServiceDir = "/var/lib/s6/sv"
	DefaultCompileDir = "/var/etc/s6/rc"
	DefaultLiveDir    = "/var/run/s6-rc"
	DefaultBundle     = "default"
)

type settings struct {
	ScanDir, ServiceDir, CompileDir, LiveDir, Bundle string
	Services                                         []string // names in etc/s6/sv/
	src                                              string
}

func loadSettings(req *module.Request) (*settings, error) {
	s := &settings{
		ScanDir:    req.Property("scanDir", DefaultScanDir),
		ServiceDir: req.Property("serviceDir", DefaultServiceDir),
		CompileDir: req.Property("compileDir", DefaultCompileDir),
		LiveDir:    req.Property("liveDir", DefaultLiveDir),
		Bundle:     req.Property("bundleName", DefaultBundle),
		src:        filepath.Join(req.Component.Path, "etc", "s6", "sv"),
	}
	for key, v := range map[string]string{"scanDir": s.ScanDir, "serviceDir": s.ServiceDir, "compileDir": s.CompileDir, "liveDir": s.LiveDir} {
		if !filepath.IsAbs(v) {
			return nil, fmt.Errorf("container %s: %s=%q is not an absolute path", req.Container.Name, key, v)
		}
	}
	if s.Bundle == "" || strings.ContainsAny(s.Bundle, "/\n") || s.Bundle == "." || s.Bundle == ".." {
		return nil, fmt.Errorf("container %s: bundleName=%q is not a service name", req.Container.Name, s.Bundle)
	}
	var err error
	if s.Services, err = service.Entries(s.src); err != nil {
		return nil, err
	}
	for _, n := range s.Services {
		if n == s.Bundle {
			return nil, fmt.Errorf("%s: a service is named like the bundle %q", filepath.Join(s.src, n), s.Bundle)
		}
	}
	return s, nil
}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.Shell:
	default:
		return nil
	}
	s, err := loadSettings(req)
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	switch req.Activity {
	case module.Activate:
		start := func() error {
			if err := s.stage(); err != nil {
				return err
			}
			return s.compileAndSwitch(ctx, req)
		}
		return service.Activate(ctx, req, start, func() error { return s.withdraw(ctx, req) }, 1)
	case module.Deactivate:
		return service.Deactivate(ctx, req, func() error { return s.withdraw(ctx, req) }, 1)
	}
	lines := []string{"Services of " + req.Component.Name + " under s6-rc:"}
	for _, n := range s.Services {
		lines = append(lines, "  s6-rc -l "+s.LiveDir+" -u change "+n+"   # start",
			"  s6-rc -l "+s.LiveDir+" -d change "+n+"   # stop")
	}
	service.Help(req, lines...)
	return nil
}
