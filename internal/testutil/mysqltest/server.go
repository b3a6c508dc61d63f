// Package mysqltest starts throwaway MariaDB servers for tests: a fresh data
// directory made by mariadb-install-db in a temporary directory, and mariadbd
// listening on a Unix socket only (no TCP port). Servers are stopped and their
// directories removed afterwards.
//
// When the MariaDB binaries are missing the test is skipped, except under
// CI=true, where a missing server is a test failure.
package mysqltest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ErrNotInstalled is returned by Launch when the MariaDB server binaries are
// not installed.
var ErrNotInstalled = errors.New("mysqltest: MariaDB server binaries not found (apt-get install mariadb-server mariadb-client)")

// Options tune a server. The zero value is a small server suitable for tests.
type Options struct {
	// BufferPool is the InnoDB buffer pool size, e.g. "512M" (default 64M).
	BufferPool string
	// Args are extra mariadbd options.
	Args []string
}

// Server is a running throwaway MariaDB server.
type Server struct {
	Dir     string // temporary directory holding everything below
	DataDir string
	Socket  string // the Unix socket clients connect to
	LogFile string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, valid after done is closed

	dbOnce sync.Once
	db     *sql.DB
}

// Binaries are the paths of the MariaDB programs the harness and the module
// under test need.
type Binaries struct {
	Server, InstallDB, Client, Dump string
}

// FindBinaries locates mariadbd, mariadb-install-db, mariadb and
// mariadb-dump (or their mysql* names) on PATH and in /usr/sbin, /usr/bin.
func FindBinaries() (Binaries, error) {
	var b Binaries
	var missing []string
	find := func(dst *string, names ...string) {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				*dst = p
				return
			}
			for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
				p := filepath.Join(dir, n)
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
					*dst = p
					return
				}
			}
		}
		missing = append(missing, names[0])
	}
	find(&b.Server, "mariadbd", "mysqld")
	find(&b.InstallDB, "mariadb-install-db", "mysql_install_db")
	find(&b.Client, "mariadb", "mysql")
	find(&b.Dump, "mariadb-dump", "mysqldump")
	if len(missing) > 0 {
		return b, fmt.Errorf("%w: missing %s", ErrNotInstalled, strings.Join(missing, ", "))
	}
	return b, nil
}

// Require returns the binaries, or skips the test (fails it under CI=true)
// when they are missing.
func Require(t testing.TB) Binaries {
	t.Helper()
	b, err := FindBinaries()
	if err != nil {
		Unavailable(t, err)
	}
	return b
}

// Unavailable skips t because of err, or fails it under CI=true.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: a missing server is a failure)", err)
	}
	t.Skip(err)
}

// Start launches a server for one test and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := Launch(opt)
	if errors.Is(err, ErrNotInstalled) {
		Unavailable(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop MariaDB: %v", err)
		}
	})
	return s
}

// Launch starts a server outside a test (e.g. in TestMain or a benchmark
// program). The caller must call Stop.
func Launch(opt Options) (*Server, error) {
	bins, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	// A short directory name: a Unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "mysqltest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Dir:     dir,
		DataDir: filepath.Join(dir, "data"),
		Socket:  filepath.Join(dir, "mysqld.sock"),
		LogFile: filepath.Join(dir, "mysqld.log"),
		done:    make(chan struct{}),
	}
	if err := s.start(bins, opt); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) start(bins Binaries, opt Options) error {
	if err := os.Mkdir(filepath.Join(s.Dir, "tmp"), 0o700); err != nil {
		return err
	}
	// As root, mariadbd must be told to stay root (it refuses otherwise);
	// the data directory is then owned by root, and root@localhost
	// authenticates through the socket, like a Debian or NixOS install.
	var userArgs []string
	if os.Geteuid() == 0 {
		userArgs = []string{"--user=root"}
	}
	install := exec.Command(bins.InstallDB, append([]string{"--no-defaults",
		"--datadir=" + s.DataDir, "--auth-root-authentication-method=socket",
		"--skip-test-db"}, userArgs...)...)
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	pool := opt.BufferPool
	if pool == "" {
		pool = "64M"
	}
	args := append([]string{"--no-defaults",
		"--datadir=" + s.DataDir,
		"--socket=" + s.Socket,
		"--skip-networking",
		"--skip-name-resolve",
		"--pid-file=" + filepath.Join(s.Dir, "mysqld.pid"),
		"--log-error=" + s.LogFile,
		"--tmpdir=" + filepath.Join(s.Dir, "tmp"),
		"--innodb-buffer-pool-size=" + pool,
	}, userArgs...)
	args = append(args, opt.Args...)
	s.cmd = exec.Command(bins.Server, args...)
	// The server dies with the test process even if Stop is never called.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("mariadbd exited during startup: %v\n%s%s", s.err, out.String(), s.logTail())
		default:
		}
		if _, err := os.Stat(s.Socket); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = s.DB().PingContext(ctx)
			cancel()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("mariadbd did not accept connections on %s within 60s\n%s", s.Socket, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the server process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func (s *Server) logTail() string {
	data, _ := os.ReadFile(s.LogFile)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 30 s) and removes
// its directory.
func (s *Server) Stop() error {
	if s.db != nil {
		s.db.Close()
	}
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
				err = fmt.Errorf("mariadbd did not stop within 30s; killed")
			}
		}
	}
	if rerr := os.RemoveAll(s.Dir); err == nil {
		err = rerr
	}
	return err
}

// Config returns a driver configuration connecting as the current OS user
// through the socket (socket authentication), like `mariadb` with no options.
func (s *Server) Config() *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.Net = "unix"
	cfg.Addr = s.Socket
	cfg.User = "root"
	if os.Geteuid() != 0 {
		cfg.User = os.Getenv("USER")
	}
	cfg.Timeout = 5 * time.Second
	return cfg
}

// DB is a connection pool for the server's administrator, shared by the
// callers of one Server.
func (s *Server) DB() *sql.DB {
	s.dbOnce.Do(func() {
		c, err := mysql.NewConnector(s.Config())
		if err != nil {
			panic(err) // the configuration is built above; it cannot be invalid
		}
		s.db = sql.OpenDB(c)
	})
	return s.db
}

// Exec runs statements as the administrator, failing the test on error.
func (s *Server) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// Rows runs a query as the administrator and returns every row with every
// column rendered as a string (NULL as "NULL"), failing the test on error.
func (s *Server) Rows(t testing.TB, query string, args ...any) [][]string {
	t.Helper()
	rows, err := s.QueryRows(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return rows
}

// QueryRows is Rows returning the error.
func (s *Server) QueryRows(query string, args ...any) ([][]string, error) {
	rows, err := s.DB().Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// Databases lists the server's databases.
func (s *Server) Databases(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, r := range s.Rows(t, "SHOW DATABASES") {
		names = append(names, r[0])
	}
	return names
}

// HasDatabase reports whether a database named exactly name exists.
func (s *Server) HasDatabase(t testing.TB, name string) bool {
	t.Helper()
	for _, n := range s.Databases(t) {
		if n == name {
			return true
		}
	}
	return false
}

// Ident quotes a MariaDB identifier for tests' own SQL.
func Ident(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
