package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// ShellEnviron is implemented by native modules that prepare a shell
// session, e.g. with PGHOST and PGDATABASE so that psql connects to the
// component's database.
type ShellEnviron interface {
	ShellEnv(req *Request) ([]string, error)
}

// ShellEnv is the environment of a shell session: the caller's environment
// (not cleared, as upstream), the container properties, and the resolved
// state directory. The Invoker puts it in Request.Env for the shell activity.
func (iv *Invoker) shellEnv(req *Request) []string {
	env := withoutKeys(iv.Environ, "DYSNOMIA_STATEDIR")
	env = append(env, req.Container.Properties.Env()...)
	return append(env, "DYSNOMIA_STATEDIR="+iv.Store.Dir())
}

// RunShell starts a shell session for req. The session has the variables
// this_dysnomia_module, this_component and this_container. An external module
// is sourced in the session with the shell activity, as upstream does, so its
// variables are visible; a native module prints its help and may add
// variables through ShellEnviron.
//
// With req.Command the commands run non-interactively (upstream needs a
// terminal for that) and the session's exit status is returned.
func RunShell(ctx context.Context, req *Request, m Module) error {
	modName := req.Container.Type
	prelude := ""
	env := append([]string{}, req.Env...)
	if ext, ok := m.(*External); ok {
		modName = ext.Path
		prelude = `source "$this_dysnomia_module" shell "$this_component" "$this_container"` + "\n"
	} else {
		if err := m.Run(ctx, req); err != nil {
			return err
		}
		if se, ok := m.(ShellEnviron); ok {
			extra, err := se.ShellEnv(req)
			if err != nil {
				return err
			}
			env = append(env, extra...)
		}
	}
	env = append(env,
		"this_dysnomia_module="+modName,
		"this_component="+req.Component.Path,
		"this_container="+req.Container.Arg,
	)
	fmt.Fprintf(req.Stderr, "dysnomia: shell for %s in container %s\n"+
		"  this_dysnomia_module = %s\n  this_component = %s\n  this_container = %s\n",
		req.Component.Name, req.Container.Name, modName, req.Component.Path, req.Container.Arg)

	bash, err := exec.LookPath("bash")
	if err != nil {
		return fmt.Errorf("shell for %s: %w", req.Component.Name, err)
	}
	var cmd *exec.Cmd
	if req.Command != "" {
		cmd = exec.CommandContext(ctx, bash, "-c", prelude+req.Command)
	} else {
		rc, err := os.CreateTemp("", "dysnomia-shell-*.rc")
		if err != nil {
			return err
		}
		defer os.Remove(rc.Name())
		fmt.Fprintf(rc, "[ -f ~/.bashrc ] && . ~/.bashrc\n%s", prelude)
		fmt.Fprint(rc, `if [ "$(id -u)" = 0 ]; then PS1='\[\e[1;31m\][dysnomia-shell:\w]\$\[\e[0m\] '; else PS1='\[\e[1;32m\][dysnomia-shell:\w]\$\[\e[0m\] '; fi`+"\n")
		rc.Close()
		cmd = exec.CommandContext(ctx, bash, "--rcfile", rc.Name(), "-i")
	}
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = req.Stdin, req.Stdout, req.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code := ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			return &ExitError{Code: code, Err: fmt.Errorf("shell for %s exited with status %d", req.Component.Name, code)}
		}
		return fmt.Errorf("shell for %s: %w", filepath.Base(bash), err)
	}
	return nil
}
