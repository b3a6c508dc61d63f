// Package xinetd is the xinetd-service module: services that a running
// xinetd serves, from configuration files the component carries.
//
// # Component
//
//	etc/xinetd.d/<service>            xinetd service sections
//	dysnomia-support/{users,groups}/  accounts (package users)
//
// # Container properties
//
//	xinetdTargetDir   the directory xinetd's includedir names; default
//	                  /var/lib/xinetd/xinetd.d
//	xinetdPidFile     xinetd's pid file; default: the one running process
//	                  whose program is named xinetd (several are an error)
//
// # Activities
//
// activate creates the accounts, finds xinetd (it must run), links every
// etc/xinetd.d/ entry into the target directory (creating it) and sends
// xinetd SIGHUP, which makes it read its configuration again; then it marks
// the component active. If a step fails, the links are removed, xinetd is
// told again and the accounts are removed. deactivate removes the links that
// point into this component, sends SIGHUP, deletes the accounts and removes
// the marker; if xinetd is not running there is nothing to tell (a warning).
// A pid file naming no live process is an error, not a signal to a stranger.
package xinetd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

// DefaultTargetDir is the xinetdTargetDir property's default.
const DefaultTargetDir = "/var/lib/xinetd/xinetd.d"

type settings struct {
	TargetDir string
	PidFile   string
	Services  []string
}

func loadSettings(req *module.Request) (*settings, error) {
	s := &settings{TargetDir: req.Property("xinetdTargetDir", DefaultTargetDir), PidFile: req.Property("xinetdPidFile", "")}
	if !filepath.IsAbs(s.TargetDir) {
		return nil, fmt.Errorf("container %s: xinetdTargetDir=%q is not an absolute path", req.Container.Name, s.TargetDir)
	}
	var err error
	s.Services, err = service.Entries(filepath.Join(req.Component.Path, "etc", "xinetd.d"))
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
	src := filepath.Join(req.Component.Path, "etc", "xinetd.d")
	switch req.Activity {
	case module.Activate:
		var pid int
		start := func() error {
			var err error
			if pid, err = s.xinetd(); err != nil {
				return err
			}
			if err := service.LinkInto(src, s.TargetDir, s.Services); err != nil {
				return err
			}
			return reload(pid)
		}
		cleanup := func() error {
			err := service.UnlinkFrom(src, s.TargetDir, s.Services)
			if pid > 0 {
				err = errors.Join(err, reload(pid))
			}
			return err
		}
		return service.Activate(ctx, req, start, cleanup, 1)
	case module.Deactivate:
		stop := func() error {
			if err := service.UnlinkFrom(src, s.TargetDir, s.Services); err != nil {
				return err
			}
			pid, err := s.xinetd()
			if errors.Is(err, errNotRunning) {
				service.Report(req).Warnf("%v; its services are removed from %s and it reads them when it starts", err, s.TargetDir)
				return nil
			}
			if err != nil {
				return err
			}
			return reload(pid)
		}
		return service.Deactivate(ctx, req, stop, 1)
	}
	service.Help(req, "Services of "+req.Component.Name+" under xinetd: "+strings.Join(s.Services, ", "),
		"  kill -HUP <xinetd's pid>   # make xinetd read its configuration again")
	return nil
}

var errNotRunning = errors.New("xinetd is not running")

// xinetd returns xinetd's pid: from the pid file, or the one process whose
// program is xinetd.
func (s *settings) xinetd() (int, error) {
	if s.PidFile != "" {
		pid, ok, err := service.ReadPid(s.PidFile)
		switch {
		case err != nil:
			return 0, err
		case !ok:
			return 0, fmt.Errorf("%w: no pid file %s", errNotRunning, s.PidFile)
		case !service.Alive(pid):
			return 0, fmt.Errorf("%w: pid file %s names process %d, which is not running", errNotRunning, s.PidFile, pid)
		}
		return pid, nil
	}
	pids, err := processesNamed("xinetd")
	if err != nil {
		return 0, err
	}
	switch len(pids) {
	case 0:
		return 0, fmt.Errorf("%w: no process named xinetd (set the container property xinetdPidFile if its program has another name)", errNotRunning)
	case 1:
		return pids[0], nil
	}
	return 0, fmt.Errorf("%d xinetd processes run (%v): set the container property xinetdPidFile to name the one to use", len(pids), pids)
}

// processesNamed lists the live processes whose executable's base name is
// name (by /proc/PID/exe, or the command name where exe is unreadable).
func processesNamed(name string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		prog := ""
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
			prog = filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
		} else if comm, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
			prog = strings.TrimSpace(string(comm))
		}
		if prog == name && service.Alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func reload(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("send SIGHUP to xinetd (pid %d): %w", pid, err)
	}
	return nil
}
