package program

// This file holds Runner: programs run with one environment and one pair of
// output streams, for the service modules and the account tools, whose
// errors quote the whole command line.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// waitDelay bounds how long Run waits, after a program has exited, for
// output that a child it left running still holds open. A program that
// starts a daemon may hand the daemon its stdout and stderr; the program's
// own exit status is what counts.
const waitDelay = 2 * time.Second

// Runner starts programs with one environment and one pair of output streams.
type Runner struct {
	Env            []string  // the programs' whole environment; its PATH is searched
	Dir            string    // working directory; "" for the caller's
	Stdin          io.Reader // nil for none
	Stdout, Stderr io.Writer // nil discards
	// ExtraDirs are searched after PATH (e.g. /usr/sbin for the account
	// tools, which a non-login PATH may lack).
	ExtraDirs []string
}

// Look finds name: a name containing a slash is taken as it is; otherwise
// the first executable regular file of that name in the PATH of env, then
// in extra.
func Look(env []string, name string, extra ...string) (string, error) {
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%s: not an executable file", name)
	}
	path, _ := Getenv(env, "PATH")
	if p, ok := Search(append(filepath.SplitList(path), extra...), name); ok {
		return p, nil
	}
	return "", fmt.Errorf("%s not found on PATH %q", name, path)
}

// Getenv looks key up in env (the last occurrence wins, as for exec).
func Getenv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Setenv returns env with key set to value (any earlier occurrence removed).
func Setenv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// Error is a program that could not be started or did not succeed. Its
// message is the command line, quoted, and what went wrong.
type Error struct {
	Argv   []string
	Status int    // exit status; -1 when it did not start or was killed
	Stderr string // the end of its standard error, when Output captured it
	Err    error
}

func (e *Error) Error() string {
	msg := Quote(e.Argv) + ": " + e.Err.Error()
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Quote renders an argument vector for messages, quoting what needs it.
func Quote(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`;&|<>()*?[]#~") {
			parts[i] = strconv.Quote(a)
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}

func (r Runner) command(ctx context.Context, name string, args []string) (*exec.Cmd, error) {
	path, err := Look(r.Env, name, r.ExtraDirs...)
	if err != nil {
		return nil, &Error{Argv: append([]string{name}, args...), Status: -1, Err: err}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = name
	cmd.Env = r.Env
	cmd.Dir = r.Dir
	cmd.Stdin = r.Stdin
	cmd.WaitDelay = waitDelay
	return cmd, nil
}

// Run runs name with args, its output going to r.Stdout and r.Stderr.
func (r Runner) Run(ctx context.Context, name string, args ...string) error {
	cmd, err := r.command(ctx, name, args)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	return wrap(cmd, cmd.Run(), "")
}

// Output runs name with args and returns its standard output. Its standard
// error goes to r.Stderr and, the last part of it, into the error.
func (r Runner) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd, err := r.command(ctx, name, args)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	errTail := &Tail{Max: 4 << 10}
	cmd.Stdout = &out
	if r.Stderr != nil {
		cmd.Stderr = io.MultiWriter(r.Stderr, errTail)
	} else {
		cmd.Stderr = errTail
	}
	err = cmd.Run()
	return out.Bytes(), wrap(cmd, err, errTail.String())
}

// Status runs name with args, discarding its output, and returns its exit
// status. An error means it could not run at all (or was killed).
func (r Runner) Status(ctx context.Context, name string, args ...string) (int, error) {
	cmd, err := r.command(ctx, name, args)
	if err != nil {
		return -1, err
	}
	errTail := &Tail{Max: 4 << 10}
	cmd.Stderr = errTail
	err = wrap(cmd, cmd.Run(), errTail.String())
	var te *Error
	if errors.As(err, &te) && te.Status > 0 {
		return te.Status, nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

func wrap(cmd *exec.Cmd, err error, stderr string) error {
	if err == nil || errors.Is(err, exec.ErrWaitDelay) {
		return nil
	}
	argv := cmd.Args
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &Error{Argv: argv, Status: ee.ExitCode(), Stderr: stderr, Err: err}
	}
	return &Error{Argv: argv, Status: -1, Stderr: stderr, Err: err}
}
