package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/pipe"
	"github.com/dysnomia-go/dysnomia/internal/program"
)

// client runs the MariaDB command-line tools for one activity. The
// connection settings, password included, are in an option file only this
// process's user can read; the command lines carry its path, never the
// password.
type client struct {
	env     []string // the tools' environment, without secrets
	path    string   // PATH to find the tools on
	binDir  string   // mysqlBinDir: the only directory searched, when set
	dir     string   // private directory holding optFile
	optFile string
}

// newClient writes the option file for s. The caller must call close.
func newClient(req *module.Request, s settings) (*client, error) {
	dir, err := os.MkdirTemp("", "dysnomia-mysql-")
	if err != nil {
		return nil, fmt.Errorf("option file: %w", err)
	}
	c := &client{dir: dir, optFile: filepath.Join(dir, "client.cnf")}
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "user=%s\n", optionValue(s.user))
	if s.password != "" {
		fmt.Fprintf(&b, "password=%s\n", optionValue(s.password))
	}
	fmt.Fprintf(&b, "socket=%s\n", optionValue(s.socket))
	b.WriteString("protocol=socket\n")
	if err := os.WriteFile(c.optFile, []byte(b.String()), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("option file: %w", err)
	}
	c.path, c.binDir = req.Getenv("PATH"), s.binDir
	if c.path == "" {
		c.path = os.Getenv("PATH")
	}
	c.env = clientEnv(req.Env)
	return c, nil
}

// close removes the option file.
func (c *client) close() { os.RemoveAll(c.dir) }

// optionValue renders a value for an option file: double-quoted, with the
// escapes the MariaDB option file reader understands.
func optionValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}

// secretVars are environment variables the tools must not see: the
// property holding a password in --environment mode, and the variables with
// which the client library would override the option file.
var secretVars = []string{"mysqlPassword", "MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_UNIX_PORT"}

func clientEnv(env []string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		for _, s := range secretVars {
			if k == s {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// The tools, by their MariaDB names and the older MySQL ones.
var (
	clientTool = []string{"mariadb", "mysql"}
	dumpTool   = []string{"mariadb-dump", "mysqldump"}
)

// command prepares one of the tools with the option file as its first
// argument (the tools require that position).
func (c *client) command(ctx context.Context, tool []string, args ...string) (*exec.Cmd, error) {
	var prog string
	var err error
	if c.binDir != "" {
		if prog, err = lookPath(c.binDir, tool); err != nil {
			return nil, fmt.Errorf("%s not found in mysqlBinDir %s", strings.Join(tool, " or "), c.binDir)
		}
	} else if prog, err = lookPath(c.path, tool); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, prog, append([]string{"--defaults-extra-file=" + c.optFile}, args...)...)
	cmd.Env = c.env
	return cmd, nil
}

// lookPath finds the first of names in the directories of path.
func lookPath(path string, names []string) (string, error) {
	for _, n := range names {
		if p, ok := program.Search(filepath.SplitList(path), n); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH (install the MariaDB client)", strings.Join(names, " or "))
}

// run runs cmd with stdin and returns an error carrying the tool's own
// message (its standard error) when it fails.
func run(cmd *exec.Cmd, stdin io.Reader) error {
	var stderr tailBuffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	// Through a large pipe written in large steps (package pipe).
	return toolError(cmd, pipe.Run(cmd, stdin), &stderr)
}

// toolError describes a failed tool run: its name, its status and the end
// of its standard error.
func toolError(cmd *exec.Cmd, err error, stderr *tailBuffer) error {
	if err == nil {
		return nil
	}
	msg := condense(stderr.String())
	name := filepath.Base(cmd.Path)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if msg == "" {
			return fmt.Errorf("%s: %v", name, err)
		}
		return fmt.Errorf("%s: %s", name, msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// tailBuffer keeps the last 16 KiB written to it: enough for a tool's error
// message, bounded whatever the tool prints.
type tailBuffer struct{ b bytes.Buffer }

const tailMax = 16 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > tailMax {
		p = p[len(p)-tailMax:]
	}
	t.b.Write(p)
	if extra := t.b.Len() - tailMax; extra > 0 {
		t.b.Next(extra)
	}
	return n, nil
}

func (t *tailBuffer) String() string { return t.b.String() }

// condense shortens the client's report of a failed statement, which
// frames the statement in dashed lines before the ERROR line, to the ERROR
// line followed by the start of the statement. Other messages are kept.
func condense(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	var errs, stmt []string
	inStmt := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "--------------"):
			inStmt = !inStmt
		case inStmt:
			stmt = append(stmt, strings.TrimSpace(l))
		case strings.HasPrefix(l, "ERROR "):
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		return strings.TrimSpace(msg)
	}
	out := strings.Join(errs, "; ")
	if s := strings.Join(stmt, " "); s != "" {
		out += " (in: " + truncate(s, 120) + ")"
	}
	return out
}
