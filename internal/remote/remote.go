// Package remote runs dysnomia on another machine through the system's ssh
// client, and moves snapshots to and from it: push, pull and move.
//
// # The ssh command
//
// Every remote call is one run of the ssh client:
//
//	SSH… HOST -- DYSNOMIA ARG…
//
// where SSH… is the ssh command (default "ssh"; --ssh CMD or DYSNOMIA_SSH
// replaces it), HOST is passed as given (so ~/.ssh/config aliases, agents
// and ControlMaster work as for any ssh), DYSNOMIA is the remote program
// (default "dysnomia", found on the remote PATH), and every remote word is
// quoted for a POSIX shell: ssh joins the words after HOST with spaces into
// one command line that the remote login shell runs, so unquoted words could
// be split or expanded there. The remote login shell must therefore be a
// POSIX one (sh, dash, bash, zsh, ksh).
//
// An ssh command string (CMD) is split into words at runs of spaces, tabs
// and newlines, and nothing else: no quotes, escapes, variables or globs are
// interpreted, and no shell runs it. "ssh -F /etc/dysnomia/ssh_config -p
// 2222" is four words. Options that need spaces belong in an ssh config file
// (-F FILE), or in a wrapper script named as CMD.
//
// # Streams
//
// Snapshots travel as a session of snapshot streams (see frames.go): one
// stream of package transfer per snapshot, each framed so the receiver knows
// where it ends. The receiver installs each snapshot as soon as its stream
// is complete and verified, so a cut connection loses at most the snapshot
// in flight, and the next run sends only what is still missing.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// DefaultSSH is the ssh command used when none is configured.
const DefaultSSH = "ssh"

// DefaultDysnomia is the remote program used when none is configured.
const DefaultDysnomia = "dysnomia"

// SplitCommand splits an ssh command string into words at runs of white
// space, with no other interpretation (see the package comment).
func SplitCommand(cmd string) ([]string, error) {
	words := strings.Fields(cmd)
	if len(words) == 0 {
		return nil, errors.New("empty ssh command")
	}
	return words, nil
}

// Quote quotes a word for a POSIX shell. Words made only of characters that
// no POSIX shell treats specially are left as they are.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Client runs dysnomia on one host.
type Client struct {
	SSH      []string // the ssh command words; empty means DefaultSSH
	Host     string   // the ssh destination, as given
	Dysnomia string   // the remote program; "" means DefaultDysnomia
	// Stderr receives the remote side's standard error (and ssh's own
	// messages), line by line, prefixed with the host name. Nil drops it.
	Stderr io.Writer
}

// CheckHost refuses destinations that ssh would take for an option.
func CheckHost(host string) error {
	switch {
	case host == "":
		return errors.New("no host given")
	case strings.HasPrefix(host, "-"):
		return fmt.Errorf("host %q: a host may not start with '-'", host)
	case strings.ContainsAny(host, " \t\r\n"):
		return fmt.Errorf("host %q: a host may not contain white space", host)
	}
	return nil
}

// Argv is the full command line of a remote call to dysnomia with args.
func (c *Client) Argv(args ...string) []string {
	ssh := c.SSH
	if len(ssh) == 0 {
		ssh = []string{DefaultSSH}
	}
	prog := c.Dysnomia
	if prog == "" {
		prog = DefaultDysnomia
	}
	argv := append(append([]string{}, ssh...), c.Host, "--", Quote(prog))
	for _, a := range args {
		argv = append(argv, Quote(a))
	}
	return argv
}

// Call is one running remote command.
type Call struct {
	cmd    *exec.Cmd
	what   string
	client *Client
	stderr *tailWriter
}

// Start starts dysnomia with args on the host. stdin and stdout are the
// remote program's standard input and output (nil: none).
func (c *Client) Start(ctx context.Context, stdin io.Reader, stdout io.Writer, args ...string) (*Call, error) {
	if err := CheckHost(c.Host); err != nil {
		return nil, err
	}
	argv := c.Argv(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	tw := &tailWriter{prefix: c.Host + ": ", w: c.Stderr}
	cmd.Stderr = tw
	call := &Call{cmd: cmd, what: "dysnomia " + strings.Join(args, " "), client: c, stderr: tw}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return call, nil
}

// StartPipe is Start with a pipe to the remote standard input, which the
// caller writes and closes. A write fails (rather than blocks) once the
// remote side is gone.
func (c *Client) StartPipe(ctx context.Context, stdout io.Writer, args ...string) (*Call, io.WriteCloser, error) {
	if err := CheckHost(c.Host); err != nil {
		return nil, nil, err
	}
	argv := c.Argv(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout = stdout
	tw := &tailWriter{prefix: c.Host + ": ", w: c.Stderr}
	cmd.Stderr = tw
	call := &Call{cmd: cmd, what: "dysnomia " + strings.Join(args, " "), client: c, stderr: tw}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return call, stdin, nil
}

// Wait waits for the remote command and explains its failure.
func (call *Call) Wait() error {
	err := call.cmd.Wait()
	call.stderr.flush()
	if err == nil {
		return nil
	}
	return call.explain(err)
}

// Kill ends the local ssh client of the call (which ends the remote side
// when it next writes or reads).
func (call *Call) Kill() {
	if call.cmd.Process != nil {
		call.cmd.Process.Kill()
	}
}

// Exit statuses of ssh and of a remote POSIX shell.
const (
	exitSSH      = 255 // ssh: connection or authentication failure
	exitNotFound = 127 // shell: command not found
	exitNoExec   = 126 // shell: found but not executable
)

// Error is a failed remote call.
type Error struct {
	Host   string
	What   string // the remote command, e.g. "dysnomia snapshots import"
	Code   int    // the exit status; -1 when killed by a signal
	Detail string // what went wrong, in words
	Stderr string // the last lines of the remote standard error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("on %s: %s: %s", e.Host, e.What, e.Detail)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Connection reports whether the failure is ssh's own (the connection broke
// or could not be made) rather than the remote command's.
func (e *Error) Connection() bool { return e.Code == exitSSH || e.Code == -1 }

func (call *Call) explain(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("on %s: %s: %w", call.client.Host, call.what, err)
	}
	e := &Error{Host: call.client.Host, What: call.what, Code: ee.ExitCode(), Stderr: call.stderr.tail()}
	prog := call.client.Dysnomia
	if prog == "" {
		prog = DefaultDysnomia
	}
	switch e.Code {
	case exitSSH:
		e.Detail = "ssh failed (exit 255: connection lost or refused, or authentication failed)"
	case exitNotFound:
		e.Detail = fmt.Sprintf("%s not found there (exit 127): install dysnomia on %s, or name it with --remote-dysnomia PATH", prog, call.client.Host)
	case exitNoExec:
		e.Detail = fmt.Sprintf("%s cannot be executed there (exit 126)", prog)
	case -1:
		e.Detail = "ssh was ended by a signal"
	default:
		e.Detail = fmt.Sprintf("exit status %d", e.Code)
	}
	return e
}

// Run runs dysnomia with args on the host and returns its standard output.
func (c *Client) Run(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	var out bytes.Buffer
	call, err := c.Start(ctx, stdin, &out, args...)
	if err != nil {
		return nil, err
	}
	if err := call.Wait(); err != nil {
		return out.Bytes(), err
	}
	return out.Bytes(), nil
}

// tailWriter forwards complete lines, prefixed, to w and keeps the last few
// for error messages.
type tailWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	part   []byte
	last   []string
}

const tailLines = 5

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.line(string(t.part[:i]))
		t.part = t.part[i+1:]
	}
	if len(t.part) > 64<<10 { // a runaway line: keep its start
		t.line(string(t.part[:4096]) + "…")
		t.part = nil
	}
	return len(p), nil
}

func (t *tailWriter) line(l string) {
	l = strings.TrimRight(l, "\r")
	if l == "" {
		return
	}
	if t.w != nil {
		fmt.Fprintf(t.w, "%s%s\n", t.prefix, l)
	}
	t.last = append(t.last, l)
	if len(t.last) > tailLines {
		t.last = t.last[1:]
	}
}

func (t *tailWriter) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.part) > 0 {
		t.line(string(t.part))
		t.part = nil
	}
}

// tail is what the last lines written say about a failure: the remote
// dysnomia's error line when there is one, else the lines that are not its
// notes (ssh's own messages, a shell's), else all of them.
func (t *tailWriter) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.last) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(t.last[i], "dysnomia: error: "); ok {
			return msg
		}
	}
	var other []string
	for _, l := range t.last {
		if !strings.HasPrefix(l, "dysnomia: ") {
			other = append(other, l)
		}
	}
	if len(other) == 0 {
		other = t.last
	}
	return strings.Join(other, "; ")
}
