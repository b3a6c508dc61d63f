// Package systemd is the systemd-unit module: units from the component
// linked into a directory systemd loads units from, and started.
//
// # Component
//
//	etc/systemd/system/*              unit files (X.service, X.socket, X.timer, …)
//	dysnomia-support/{users,groups}/  accounts (package users)
//
// # Container properties
//
//	systemdUserServices   "1": manage the user's service manager
//	                      (systemctl --user) instead of the system's
//	systemdTargetDir      where units are linked; default
//	                      /etc/systemd-mutable/system, or
//	                      $HOME/.config/systemd/user for user services. systemd
//	                      must load units from it (on NixOS:
//	                      boot.extraSystemdUnitPaths).
//	systemdRootTarget     the wants directory, inside the target dir, that
//	                      holds a link for each started unit so that it starts
//	                      again after a reboot; default dysnomia.target.wants
//
// # Activities
//
// activate creates the accounts, links every unit file into the target
// directory (created if missing), links into the wants directory, for each
// X.service, X.socket if the component has one, else X.timer if it has one,
// else X.service, runs systemctl daemon-reload and starts those units; then
// it marks the component active. Activating again repairs a removed link
// and starts a stopped unit. On failure, what was done is undone as by
// deactivate. deactivate stops the component's sockets, then timers, then
// services (those linked from this component), removes their wants links
// and every link to the component, runs daemon-reload, deletes the accounts
// (each deletion tried up to 10 times a second apart: a stopped service's
// processes may still be exiting) and removes the marker. Every systemctl
// call uses the same manager, --user or --system (upstream reloaded the
// system manager after deactivating user units).
package systemd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

// Defaults of the properties.
const (
	DefaultTargetDir     = "/etc/systemd-mutable/system"
	DefaultUserTargetDir = ".config/systemd/user" // under $HOME
	DefaultRootTarget    = "dysnomia.target.wants"
	accountAttempts      = 10
)

type settings struct {
	TargetDir string
	WantsDir  string
	Scope     string   // --user or --system
	Units     []string // every file of etc/systemd/system
	src       string
}

func loadSettings(req *module.Request) (*settings, error) {
	s := &settings{Scope: "--system", src: filepath.Join(req.Component.Path, "etc", "systemd", "system")}
	def := DefaultTargetDir
	if service.Flag(req, "systemdUserServices") {
		s.Scope = "--user"
		home := req.Getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return nil, fmt.Errorf("user services need a home directory: %w", err)
			}
		}
		def = filepath.Join(home, DefaultUserTargetDir)
	}
	s.TargetDir = req.Property("systemdTargetDir", def)
	if !filepath.IsAbs(s.TargetDir) {
		return nil, fmt.Errorf("container %s: systemdTargetDir=%q is not an absolute path", req.Container.Name, s.TargetDir)
	}
	root := req.Property("systemdRootTarget", DefaultRootTarget)
	if strings.Contains(root, "/") || root == "." || root == ".." {
		return nil, fmt.Errorf("container %s: systemdRootTarget=%q is not a directory name", req.Container.Name, root)
	}
	s.WantsDir = filepath.Join(s.TargetDir, root)
	var err error
	s.Units, err = service.Entries(s.src)
	return s, err
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
		return service.Activate(ctx, req, func() error { return s.start(ctx, req) }, func() error { return s.cleanup(ctx, req) }, accountAttempts)
	case module.Deactivate:
		return service.Deactivate(ctx, req, func() error { return s.cleanup(ctx, req) }, accountAttempts)
	}
	lines := []string{"systemd units of " + req.Component.Name + " (" + s.TargetDir + "):"}
	for _, u := range s.Units {
		lines = append(lines, "  systemctl "+s.Scope+" start|stop|status "+u, "  journalctl "+strings.Replace(s.Scope, "--system", "", 1)+" -u "+u)
	}
	service.Help(req, lines...)
	return nil
}

func (s *settings) systemctl(ctx context.Context, req *module.Request, args ...string) error {
	return service.Runner(req).Run(ctx, "systemctl", append([]string{s.Scope}, args...)...)
}

// has reports whether the component has the unit file name.
func (s *settings) has(name string) bool {
	for _, u := range s.Units {
		if u == name {
			return true
		}
	}
	return false
}

// startUnits maps each X.service to the unit that starts it: X.socket,
// X.timer or X.service.
func (s *settings) startUnits() []string {
	var out []string
	for _, u := range s.Units {
		base, ok := strings.CutSuffix(u, ".service")
		if !ok {
			continue
		}
		switch {
		case s.has(base + ".socket"):
			out = append(out, base+".socket")
		case s.has(base + ".timer"):
			out = append(out, base+".timer")
		default:
			out = append(out, u)
		}
	}
	return out
}
