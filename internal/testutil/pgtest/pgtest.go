// Package pgtest starts throwaway PostgreSQL servers for tests: initdb in a
// temporary directory, a server listening only on a Unix socket there (so
// test packages can run in parallel), stopped and removed afterwards.
//
// Tests run as root here and in CI, and initdb refuses to run as root, so
// the server runs as the "postgres" system user. Local connections use peer
// authentication, as on NixOS and Debian: only the OS user postgres may
// connect as the database superuser postgres. (When the tests do not run as
// root, the server runs as the current user, whose name is then also the
// superuser's.)
//
// Typical use, one server shared by the tests of a package:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		srv := pgtest.Start(t)
//		props := srv.Properties() // container properties for postgresql-database
//		srv.Psql(t, "postgres", "select 1")
//	}
//
// Without pgtest.Main, Start gives each test its own server, stopped by
// t.Cleanup. When the PostgreSQL programs are missing, tests are skipped, or
// fail under CI=true.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/modules/postgresql/peer"
)

// Server is a running throwaway PostgreSQL server.
type Server struct {
	BinDir    string // directory of initdb, postgres, psql, pg_dump, …
	Dir       string // the temporary root directory, removed by Stop
	DataDir   string // the cluster's data directory
	SocketDir string // the directory holding the Unix socket
	Port      int    // the port number in the socket's name (no TCP listener)
	Superuser string // the database superuser role
	OS        *peer.Identity
	Auth      string // local authentication method: "peer" or "trust"

	mu      sync.Mutex
	cmd     *exec.Cmd // nil while halted
	logFile string
	waitErr chan error
	once    sync.Once
	stopErr error
}

// Options configure a server.
type Options struct {
	// Auth is the pg_hba method of local connections: "peer" (default)
	// or "trust".
	Auth string
	// Durable keeps fsync and full_page_writes on (benchmarks); tests turn
	// them off for speed.
	Durable bool
	// Settings are extra postgresql.conf settings.
	Settings map[string]string
	// HBA are pg_hba.conf lines put before the generated ones, e.g.
	// "local all app scram-sha-256".
	HBA []string
}

var (
	mainActive bool
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Main runs the tests of a package with one shared server, started on first
// use by Start and stopped when the tests end. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	mainActive = true
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Start returns a server for tb: the package's shared server when the tests
// run under Main, otherwise a new one stopped at the end of tb. Tests that
// share a server must use their own database names.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if !mainActive {
		return StartNew(tb, Options{})
	}
	Require(tb)
	sharedOnce.Do(func() { shared, sharedErr = New(Options{}) })
	if sharedErr != nil {
		tb.Fatalf("start PostgreSQL: %v", sharedErr)
	}
	return shared
}

// StartNew starts a server of its own for tb, stopped by tb.Cleanup.
func StartNew(tb testing.TB, opts Options) *Server {
	tb.Helper()
	Require(tb)
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("start PostgreSQL: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("stop PostgreSQL: %v", err)
		}
	})
	return s
}

// Require returns the PostgreSQL bin directory, or skips tb when there is
// none (fails it when the environment variable CI is "true").
func Require(tb testing.TB) string {
	tb.Helper()
	dir, err := BinDir()
	if err == nil && os.Geteuid() == 0 {
		_, err = osUser()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		tb.Skipf("PostgreSQL not available: %v", err)
	}
	return dir
}

// BinDir finds the PostgreSQL server programs: $PGTEST_BINDIR, then
// `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin, then the
// directory of initdb on PATH.
func BinDir() (string, error) {
	var candidates []string
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(globbed, func(i, j int) bool { return versionOf(globbed[i]) > versionOf(globbed[j]) })
	candidates = append(candidates, globbed...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) && isExec(filepath.Join(d, "pg_dump")) {
			return d, nil
		}
	}
	return "", errors.New("no directory with initdb, postgres and pg_dump (set PGTEST_BINDIR, or install postgresql)")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// osUser is the OS user the server runs as.
func osUser() (*peer.Identity, error) {
	name := "postgres"
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, err
		}
		name = u.Username
	}
	id, err := peer.Lookup(name)
	if err == nil && id == nil {
		err = fmt.Errorf("there is no OS user %q to run the server as", name)
	}
	return id, err
}

// New starts a server. The caller must Stop it.
func New(opts Options) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	id, err := osUser()
	if err != nil {
		return nil, err
	}
	if opts.Auth == "" {
		opts.Auth = "peer"
	}
	if opts.Auth != "peer" && opts.Auth != "trust" {
		return nil, fmt.Errorf("pgtest: unsupported auth method %q", opts.Auth)
	}
	dir, err := os.MkdirTemp("", "dysnomia-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		BinDir: bin, Dir: dir, DataDir: filepath.Join(dir, "data"), SocketDir: filepath.Join(dir, "run"),
		Port: 20000 + rand.IntN(40000), Superuser: id.Name, OS: id, Auth: opts.Auth,
		logFile: filepath.Join(dir, "server.log"),
	}
	if err := s.start(opts); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(opts Options) error {
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(s.SocketDir, 0o755); err != nil {
		return err
	}
	for _, p := range []string{s.Dir, s.SocketDir} {
		if err := os.Chown(p, s.OS.UID, s.OS.GID); err != nil {
			return err
		}
	}
	initdb := s.command("initdb", "-D", s.DataDir, "-U", s.Superuser, "--auth-local="+opts.Auth,
		"--auth-host=reject", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	settings := map[string]string{
		"listen_addresses":        "''",
		"port":                    strconv.Itoa(s.Port),
		"unix_socket_directories": "'" + s.SocketDir + "'",
		"max_connections":         "50",
		"log_min_messages":        "warning",
	}
	if !opts.Durable {
		settings["fsync"] = "off"
		settings["full_page_writes"] = "off"
		settings["synchronous_commit"] = "off"
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conf bytes.Buffer
	conf.WriteString("\n# pgtest\n")
	for _, k := range keys {
		fmt.Fprintf(&conf, "%s = %s\n", k, settings[k])
	}
	f, err := os.OpenFile(filepath.Join(s.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(conf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	if len(opts.HBA) > 0 {
		hba := filepath.Join(s.DataDir, "pg_hba.conf")
		old, err := os.ReadFile(hba)
		if err != nil {
			return err
		}
		data := strings.Join(opts.HBA, "\n") + "\n" + string(old)
		if err := os.WriteFile(hba, []byte(data), 0o600); err != nil {
			return err
		}
	}
	return s.run()
}

// run starts the postgres process and waits until it accepts connections.
func (s *Server) run() error {
	log, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := s.command("postgres", "-D", s.DataDir)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a ^C to the test does not reach the server
	// before Stop asks it to shut down.
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	s.mu.Lock()
	s.cmd, s.waitErr = cmd, waitErr
	s.mu.Unlock()

	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := s.command("pg_isready", "-q", "-h", s.SocketDir, "-p", strconv.Itoa(s.Port))
		if ready.Run() == nil {
			return nil
		}
		select {
		case err := <-waitErr:
			waitErr <- err
			return fmt.Errorf("postgres exited: %v\n%s", err, s.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not become ready in 60s\n%s", s.LogTail())
		}
	}
}

// command prepares a PostgreSQL program from BinDir, run as the server's OS
// user, with a clean environment.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.BinDir, name), args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + s.BinDir + ":/usr/bin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if s.OS.Switches() {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(s.OS.UID), Gid: uint32(s.OS.GID), Groups: []uint32{}}
	}
	return cmd
}

// Command prepares a PostgreSQL client program (psql, pg_dump, pgbench, …)
// run as the server's OS user, with PGHOST, PGPORT and PGUSER set for this
// server and PGDATABASE for db when it is not "".
func (s *Server) Command(db, name string, args ...string) *exec.Cmd {
	cmd := s.command(name, args...)
	cmd.Env = append(cmd.Env, s.Env(db)...)
	return cmd
}

// Env returns PGHOST, PGPORT, PGUSER and, when db is not "", PGDATABASE.
func (s *Server) Env(db string) []string {
	env := []string{"PGHOST=" + s.SocketDir, "PGPORT=" + strconv.Itoa(s.Port), "PGUSER=" + s.Superuser}
	if db != "" {
		env = append(env, "PGDATABASE="+db)
	}
	return env
}

// Properties returns the container properties of a postgresql-database
// container for this server.
func (s *Server) Properties() config.Properties {
	kv := [][2]string{
		{"postgresqlUsername", s.Superuser},
		{"postgresqlPort", strconv.Itoa(s.Port)},
		{"postgresqlRuntimeDir", s.SocketDir},
		{"postgresqlBinDir", s.BinDir},
	}
	var ps config.Properties
	for _, p := range kv {
		ps.Set(config.Property{Key: p[0], Values: []string{p[1]}})
	}
	return ps
}

// PropertyEnv is Properties as KEY=VALUE entries, the way Disnix passes them
// to `dysnomia --environment`.
func (s *Server) PropertyEnv() []string { return s.Properties().Env() }

// QueryPsql runs sql with psql in database db (unaligned, tuples only,
// stopping at the first error) and returns its trimmed output.
func (s *Server) QueryPsql(db, sql string) (string, error) {
	cmd := s.Command(db, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql %q in %q: %v: %s", sql, db, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Psql is QueryPsql that fails tb on an error.
func (s *Server) Psql(tb testing.TB, db, sql string) string {
	tb.Helper()
	out, err := s.QueryPsql(db, sql)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Databases lists the databases other than templates, sorted.
func (s *Server) Databases(tb testing.TB) []string {
	tb.Helper()
	out := s.Psql(tb, "postgres", "select datname from pg_database where not datistemplate order by datname collate \"C\"")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// HasDatabase reports whether a database with exactly this name exists.
func (s *Server) HasDatabase(tb testing.TB, name string) bool {
	tb.Helper()
	out := s.Psql(tb, "postgres", "select count(*) from pg_database where datname = "+Literal(name))
	return out == "1"
}

// Literal quotes s as an SQL string literal (standard_conforming_strings).
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Connect opens a pgx connection to db as the superuser, through the peer
// dialer, closed by tb.Cleanup.
func (s *Server) Connect(tb testing.TB, db string) *pgx.Conn {
	tb.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		s.SocketDir, s.Port, s.Superuser, "x"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Database = db
	d := &peer.Dialer{As: s.OS}
	cfg.DialFunc = d.DialContext
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("connect to %q: %v", db, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// LogTail returns the end of the server's log.
func (s *Server) LogTail() string {
	data, _ := os.ReadFile(s.logFile)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// Stop shuts the server down (fast shutdown, then immediate after 30s) and
// removes its directory. It is safe to call more than once.
func (s *Server) Stop() error {
	s.once.Do(func() {
		s.stopErr = s.shutdown()
		s.cleanup()
	})
	return s.stopErr
}

// Halt shuts the server down and keeps its files, so that Resume can start
// it again at the same socket: for tests of clients waiting for a server.
func (s *Server) Halt() error { return s.shutdown() }

// Resume starts a halted server again.
func (s *Server) Resume() error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return fmt.Errorf("pgtest: server in %s is running", s.DataDir)
	}
	return s.run()
}

func (s *Server) shutdown() error {
	s.mu.Lock()
	cmd, waitErr := s.cmd, s.waitErr
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-waitErr:
		return nil
	case <-time.After(30 * time.Second):
	}
	cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-waitErr:
		return nil
	case <-time.After(10 * time.Second):
	}
	cmd.Process.Kill()
	<-waitErr
	return fmt.Errorf("postgres in %s did not shut down; killed", s.DataDir)
}

func (s *Server) cleanup() {
	if err := os.RemoveAll(s.Dir); err != nil && s.stopErr == nil {
		s.stopErr = err
	}
}
