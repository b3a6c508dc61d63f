// Package managed is the managed-process module: a process described in
// nix-processmgmt's process-manager-agnostic form, turned into a
// configuration for the chosen process manager by nixproc-generate-config
// and then handed to that manager's module.
//
// # Component
//
//	*.json   the process description(s) nixproc-generate-config reads
//
// # Container properties
//
//	processManager   bsdrc, cygrunsrv, disnix, docker, launchd, supervisord,
//	                 systemd or sysvinit (required)
//	stateDir, runtimeDir, logDir, cacheDir, tmpDir
//	                 passed to nixproc-generate-config as --state-dir,
//	                 --runtime-dir, --log-dir, --cache-dir and --tmp-dir when
//	                 set (upstream passed cacheDir as --log-dir)
//
// # Activities
//
// lock and unlock do nothing. Every other activity runs
// `nixproc-generate-config --process-manager M [dirs] --no-out-link FILE…`,
// takes the store path it prints as the generated configuration, and runs
// the activity with the module of the manager (disnix: process; docker:
// docker-container; supervisord: supervisord-program; systemd:
// systemd-unit; sysvinit: sysvinit-script; bsdrc, cygrunsrv and launchd:
// bsdrc-script, cygrunsrv-service and launchd-daemon, which need other
// systems) on that configuration, in the same container and under the same
// component name. The activated marker records this component's path, not
// the generated one, so that bulk operations come back here.
package managed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module. Registry holds the modules it hands
// activities to.
type Module struct {
	Registry *module.Registry
}

// Modules maps each process manager to the module type that deploys its
// configurations.
var Modules = map[string]string{
	"bsdrc":       "bsdrc-script",
	"cygrunsrv":   "cygrunsrv-service",
	"disnix":      "process",
	"docker":      "docker-container",
	"launchd":     "launchd-daemon",
	"supervisord": "supervisord-program",
	"systemd":     "systemd-unit",
	"sysvinit":    "sysvinit-script",
}

// dirOptions are the directory properties and their generator options.
var dirOptions = [][2]string{
	{"stateDir", "--state-dir"}, {"runtimeDir", "--runtime-dir"}, {"logDir", "--log-dir"},
	{"cacheDir", "--cache-dir"}, {"tmpDir", "--tmp-dir"},
}

// Run implements module.Module.
func (m Module) Run(ctx context.Context, req *module.Request) error {
	if req.Activity == module.Lock || req.Activity == module.Unlock {
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	pm := req.Property("processManager", "")
	typ, ok := Modules[pm]
	if !ok {
		return fail(fmt.Errorf("container property processManager=%q: want one of bsdrc, cygrunsrv, disnix, docker, launchd, supervisord, systemd, sysvinit", pm))
	}
	target, ok := m.Registry.Native(typ)
	if !ok {
		return fail(fmt.Errorf("no built-in module %s for process manager %s", typ, pm))
	}
	generated, err := generate(ctx, req, pm)
	if err != nil {
		return fail(err)
	}
	sub := *req
	sub.Component.Path = generated
	if err := target.Run(ctx, &sub); err != nil {
		return err
	}
	if req.Activity == module.Activate {
		// The delegate marked the generated path; record ours instead.
		if active, err := req.Store.IsActive(req.Key()); err != nil {
			return err
		} else if active {
			return req.Store.MarkActive(req.Key(), req.Component.Path)
		}
	}
	return nil
}

// generate runs nixproc-generate-config and returns the configuration it
// built.
func generate(ctx context.Context, req *module.Request, pm string) (string, error) {
	specs, err := filepath.Glob(filepath.Join(req.Component.Path, "*.json"))
	if err != nil {
		return "", err
	}
	if len(specs) == 0 {
		return "", fmt.Errorf("%s has no *.json process description", req.Component.Path)
	}
	args := []string{"--process-manager", pm}
	for _, o := range dirOptions {
		if v := req.Property(o[0], ""); v != "" {
			args = append(args, o[1], v)
		}
	}
	args = append(append(args, "--no-out-link"), specs...)
	r := service.Runner(req)
	out, err := r.Output(ctx, "nixproc-generate-config", args...)
	if err != nil {
		return "", err
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return "", fmt.Errorf("nixproc-generate-config printed no path")
	}
	path := lines[len(lines)-1]
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() || !filepath.IsAbs(path) {
		return "", fmt.Errorf("nixproc-generate-config printed %q, which is not a directory", path)
	}
	return path, nil
}
