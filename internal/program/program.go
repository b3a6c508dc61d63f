// Package program finds and runs the external programs of native modules
// and the account tools (svnadmin, influxd, ejabberdctl, systemctl,
// useradd, …): looked up on the PATH of the module's environment, started
// directly with an argument vector (never through a shell), their standard
// error kept for the error message. Command runs one in "/", optionally with
// the credentials of another OS user; Runner runs several with one
// environment and one pair of output streams.
package program

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Find looks name up in the PATH of env (the module's environment). Only
// absolute PATH entries count: a relative entry would depend on the working
// directory.
func Find(env []string, name string) (string, error) {
	path, _ := Getenv(env, "PATH")
	if p, ok := Search(filepath.SplitList(path), name); ok {
		return p, nil
	}
	return "", fmt.Errorf("%s not found on PATH", name)
}

// Search returns the first executable regular file name in dirs, skipping
// relative entries (they would depend on the working directory).
func Search(dirs []string, name string) (string, bool) {
	for _, dir := range dirs {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, true
		}
	}
	return "", false
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Cmd is a prepared program run.
type Cmd struct {
	*exec.Cmd
	Name   string // the program's base name, for messages
	stderr *Tail
}

// Command prepares path with args. It runs in "/" with environment env;
// with as set (see User.Switches), it runs with that user's uid, gid and
// groups, and HOME, USER and LOGNAME of that user. Its standard error is
// kept (the last 64 KiB) for Err; set Stderr to something else to see it
// elsewhere.
func Command(ctx context.Context, env []string, as *User, path string, args ...string) *Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = "/"
	// A killed program's children may hold its pipes open; do not wait
	// for them for long.
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if as.Switches() {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: as.UID, Gid: as.GID, Groups: as.Groups}
		env = as.environ(env)
	}
	cmd.Env = env
	t := &Tail{Max: 64 << 10}
	cmd.Stderr = t
	return &Cmd{Cmd: cmd, Name: filepath.Base(path), stderr: t}
}

// KillGroup makes the program the leader of a process group of its own,
// and a cancelled context kill the whole group: a wrapper script's
// children (a shell script starting a VM, say) then die with it instead of
// holding its output open.
func (c *Cmd) KillGroup() {
	c.SysProcAttr.Setpgid = true
	c.Cancel = func() error {
		if c.Process == nil {
			return nil
		}
		return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
}

// StderrText is what the program wrote to its standard error (the end of it).
func (c *Cmd) StderrText() string { return c.stderr.String() }

// Run runs the program and describes a failure with its standard error.
func (c *Cmd) Run() error { return c.Err(c.Cmd.Run()) }

// Output runs the program and returns its standard output.
func (c *Cmd) Output() ([]byte, error) {
	var out bytes.Buffer
	c.Stdout = &out
	err := c.Err(c.Cmd.Run())
	return out.Bytes(), err
}

// Err describes err, the outcome of running c, with its standard error;
// nil stays nil.
func (c *Cmd) Err(err error) error {
	if err == nil {
		return nil
	}
	msg := c.stderr.String()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if msg == "" {
			return fmt.Errorf("%s failed (%v)", c.Name, ee)
		}
		return fmt.Errorf("%s failed (%v): %s", c.Name, ee, msg)
	}
	if msg != "" {
		return fmt.Errorf("%s: %w: %s", c.Name, err, msg)
	}
	return fmt.Errorf("%s: %w", c.Name, err)
}

// Tail keeps the last Max bytes written to it.
type Tail struct {
	Max int
	buf bytes.Buffer
	cut bool
}

func (t *Tail) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.Max; over > 0 {
		t.buf.Next(over)
		t.cut = true
	}
	return len(p), nil
}

// String is the kept output, trimmed.
func (t *Tail) String() string {
	s := strings.TrimSpace(t.buf.String())
	if t.cut {
		s = "…" + s
	}
	return s
}
