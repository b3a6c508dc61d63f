package postgresql

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/dysnomia-go/dysnomia/internal/program"
)

// tool prepares a PostgreSQL client program (psql, pg_dump, pg_restore).
// It runs as the OS user named by postgresqlUsername when Dysnomia runs as
// root, started directly with that user's credentials (no shell), so that
// peer authentication on the socket sees that user. Its environment is the
// module's, without any PG* variables of the caller, plus the connection
// parameters; the password (from postgresqlPasswordFile) travels in
// PGPASSWORD, never on the command line. The database is passed with
// --dbname as a quoted connection string (see dbArg).
func (ss *session) tool(ctx context.Context, env []string, name string, args ...string) (*exec.Cmd, *program.Tail, error) {
	path, err := ss.lookTool(env, name)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = "/"
	cmd.Env = ss.toolEnv(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if ss.id.Switches() {
		groups, err := supplementaryGroups(ss.id.Name)
		if err != nil {
			return nil, nil, err
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(ss.id.UID), Gid: uint32(ss.id.GID), Groups: groups}
	}
	t := &program.Tail{Max: 64 << 10}
	cmd.Stderr = t
	return cmd, t, nil
}

// lookTool finds a program in postgresqlBinDir, else on the module's PATH.
func (ss *session) lookTool(env []string, name string) (string, error) {
	if ss.BinDir != "" {
		if p, ok := program.Search([]string{ss.BinDir}, name); ok {
			return p, nil
		}
		return "", fmt.Errorf("%s not found in postgresqlBinDir %s", name, ss.BinDir)
	}
	path, _ := program.Getenv(env, "PATH")
	if p, ok := program.Search(filepath.SplitList(path), name); ok {
		return p, nil
	}
	return "", fmt.Errorf("%s not found on PATH (set the container property postgresqlBinDir to the PostgreSQL bin directory)", name)
}

// toolEnv is env without PG* variables, plus this session's connection
// parameters and, for another OS user, that user's HOME, USER and LOGNAME.
func (ss *session) toolEnv(env []string) []string {
	out := make([]string, 0, len(env)+8)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") {
			continue
		}
		if ss.id.Switches() && (k == "HOME" || k == "USER" || k == "LOGNAME") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out,
		"PGHOST="+ss.host(),
		"PGPORT="+strconv.Itoa(ss.Port),
		"PGUSER="+ss.User,
		"PGAPPNAME=dysnomia",
		"PGCONNECT_TIMEOUT=10",
	)
	if ss.socketDir() != "" {
		out = append(out, "PGSSLMODE=disable")
	}
	if ss.Password != "" {
		out = append(out, "PGPASSWORD="+ss.Password)
	}
	if ss.id.Switches() {
		home := "/"
		if u, err := lookupHome(ss.id.Name); err == nil && u != "" {
			home = u
		}
		out = append(out, "HOME="+home, "USER="+ss.id.Name, "LOGNAME="+ss.id.Name)
	}
	return out
}

// dbArg is a --dbname argument naming db as a connection string, so that
// any database name (spaces, quotes, '=') reaches the program intact.
func dbArg(db string) string {
	v := strings.ReplaceAll(db, `\`, `\\`)
	v = strings.ReplaceAll(v, `'`, `\'`)
	return "--dbname=dbname='" + v + "'"
}

// runErr describes a failed program run with its stderr.
func runErr(name string, err error, msg string) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if msg == "" {
			return fmt.Errorf("%s failed with %v", name, ee)
		}
		return fmt.Errorf("%s failed (%v): %s", name, ee, msg)
	}
	if msg != "" {
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}
