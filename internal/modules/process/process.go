// Package process is the process module: a daemon that the component's
// program starts, tracked through its pid file.
//
// # Component
//
// The program is the one entry of bin/, or the process named in the first
// file of etc/dysnomia/process/ (a key=value file, read without running
// shell code):
//
//	process   the program and its arguments, separated by blanks
//	pidFile   the pid file the daemon writes; default
//	          <runtimeDir>/<base name of the program>.pid
//
// The component may declare users and groups in dysnomia-support/ (package
// users); they are created before the process starts and deleted after it
// has stopped, or when activation fails.
//
// # Container properties
//
//	runtimeDir    directory of default pid files; default /var/run
//	timeout       seconds to wait for the pid file after starting; default 1
//	stopTimeout   seconds to wait for the process to exit after SIGTERM
//	              before sending SIGKILL; default 10
//
// # Activities
//
// activate starts the program (with the module's environment), which must
// daemonise and write the pid file, and marks the component active. If the
// pid file names a live process, nothing is started; a pid file naming no
// live process (stale, e.g. after a crash) is removed and the program
// started. A pid file that has not appeared after timeout seconds is a
// warning, as upstream. If the program fails, a daemon it left behind is
// stopped and the accounts are removed again.
//
// deactivate sends the process SIGTERM and waits until it has exited
// (stopTimeout, then SIGKILL), removes a pid file the daemon left behind,
// deletes the accounts and removes the activated marker. A missing or stale
// pid file means the process is already gone. shell prints help.
package process

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

// Defaults of the properties.
const (
	DefaultRuntimeDir  = "/var/run"
	DefaultTimeout     = 1  // seconds
	DefaultStopTimeout = 10 // seconds
)

// spec is what the component and the container say about the process.
type spec struct {
	Argv        []string
	PidFile     string
	Timeout     time.Duration
	StopTimeout time.Duration
}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.Shell:
	default:
		return nil
	}
	s, err := loadSpec(req)
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	switch req.Activity {
	case module.Activate:
		return activate(ctx, req, s)
	case module.Deactivate:
		return deactivate(ctx, req, s)
	}
	service.Help(req,
		fmt.Sprintf("Process %s: started with %q, pid file %s.", req.Component.Name, strings.Join(s.Argv, " "), s.PidFile),
		"  cat "+s.PidFile+"            # the daemon's pid",
		"  ps -fp \"$(cat "+s.PidFile+")\"  # its status",
		"  kill \"$(cat "+s.PidFile+")\"    # stop it")
	return nil
}

func loadSpec(req *module.Request) (*spec, error) {
	s := &spec{}
	var err error
	if s.Timeout, err = service.Seconds(req, "timeout", DefaultTimeout); err != nil {
		return nil, err
	}
	if s.StopTimeout, err = service.Seconds(req, "stopTimeout", DefaultStopTimeout); err != nil {
		return nil, err
	}
	var process string
	cfgDir := filepath.Join(req.Component.Path, "etc", "dysnomia", "process")
	files, err := service.Entries(cfgDir)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		if len(files) > 1 {
			service.Report(req).Warnf("%s holds %d files; only the first, %s, is read", cfgDir, len(files), files[0])
		}
		file := filepath.Join(cfgDir, files[0])
		props, err := config.ParseFile(file, config.ShellReject)
		if err != nil {
			return nil, err
		}
		process = props.Lookup("process")
		s.PidFile = props.Lookup("pidFile")
	}
	if process == "" {
		bin := filepath.Join(req.Component.Path, "bin")
		names, err := service.Entries(bin)
		if err != nil {
			return nil, err
		}
		switch len(names) {
		case 0:
			return nil, fmt.Errorf("no process: %s has no program and there is no etc/dysnomia/process/ file naming one", bin)
		case 1:
			process = filepath.Join(bin, names[0])
		default:
			return nil, fmt.Errorf("%s has %d programs (%s); name the one to start with process= in a file in etc/dysnomia/process/", bin, len(names), strings.Join(names, ", "))
		}
	}
	s.Argv = strings.Fields(process)
	if len(s.Argv) == 0 {
		return nil, fmt.Errorf("the process to start is blank")
	}
	if s.PidFile == "" {
		s.PidFile = filepath.Join(req.Property("runtimeDir", DefaultRuntimeDir), filepath.Base(s.Argv[0])+".pid")
	}
	if !filepath.IsAbs(s.PidFile) {
		return nil, fmt.Errorf("pid file %q is not an absolute path", s.PidFile)
	}
	return s, nil
}

// running reads the pid file: the pid when it names a live process. A
// stale or unreadable pid file is removed (with a warning).
func running(req *module.Request, s *spec) (int, bool, error) {
	pid, ok, err := service.ReadPid(s.PidFile)
	if !ok && err == nil {
		return 0, false, nil
	}
	if err == nil && service.Alive(pid) {
		return pid, true, nil
	}
	if err != nil {
		service.Report(req).Warnf("%v; removing it", err)
	} else {
		service.Report(req).Warnf("stale pid file %s: process %d is not running; removing it", s.PidFile, pid)
	}
	if err := os.Remove(s.PidFile); err != nil && !os.IsNotExist(err) {
		return 0, false, err
	}
	return 0, false, nil
}
