package module

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// External runs a module executable with the upstream protocol:
//
//	<module> <activity> <component path> <container argument>
//
// with Request.Env as its whole environment (the caller composes it: the
// container properties plus PATH, HOME and DYSNOMIA_STATEDIR in container-file
// mode, the caller's environment in --environment mode). Standard streams
// pass straight through, and the module's exit status is kept.
type External struct {
	Path string
}

// Run implements Module.
func (e *External) Run(ctx context.Context, req *Request) error {
	return e.RunArgs(ctx, req, string(req.Activity), req.Component.Path, req.Container.Arg)
}

// RunArgs runs the executable with the given arguments and the request's
// environment and streams.
func (e *External) RunArgs(ctx context.Context, req *Request, args ...string) error {
	cmd := exec.CommandContext(ctx, e.Path, args...)
	cmd.Env = req.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = req.Stdin, req.Stdout, req.Stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
			return &ExitError{Code: code, Err: fmt.Errorf("%s %s of %s: module %s killed by %v", req.Activity, req.Component.Name, req.Container.Name, e.Path, ws.Signal())}
		}
		return &ExitError{Code: code, Err: fmt.Errorf("%s %s of %s: module %s exited with status %d", req.Activity, req.Component.Name, req.Container.Name, e.Path, code)}
	}
	return fmt.Errorf("%s %s of %s: run module %s: %w", req.Activity, req.Component.Name, req.Container.Name, e.Path, err)
}
