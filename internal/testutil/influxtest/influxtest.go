// Package influxtest starts throwaway InfluxDB 1.x servers for tests:
// influxd with its meta, data and WAL directories in a temporary directory,
// its HTTP API and its backup/restore (RPC) service on free ports bound to
// 127.0.0.1, stopped and removed afterwards.
//
// Typical use, one server shared by the tests of a package:
//
//	func TestMain(m *testing.M) { os.Exit(influxtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		srv := influxtest.Start(t)
//		props := srv.Properties() // container properties for influx-database
//		srv.Query(t, "", `CREATE DATABASE "x"`)
//	}
//
// Without Main, Start gives each test its own server. When influxd is
// missing the test is skipped, or fails under CI=true.
package influxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// ErrNotInstalled is returned when influxd is not installed.
var ErrNotInstalled = errors.New("influxtest: influxd not found (apt-get install influxdb)")

// Server is a running throwaway InfluxDB server.
type Server struct {
	Dir      string // temporary directory holding everything
	HTTPPort int    // the HTTP API, on 127.0.0.1
	RPCPort  int    // the backup/restore service, on 127.0.0.1
	Binary   string // influxd
	// Admin and Password are the administrator's credentials on a server
	// started with Options.Auth; the helpers below use them.
	Admin, Password string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  bytes.Buffer
}

var (
	mainActive bool
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Main runs a package's tests with one shared server, started on first use
// by Start and stopped at the end.
func Main(m *testing.M) int {
	mainActive = true
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "influxtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Find locates influxd on PATH or in /usr/bin.
func Find() (string, error) {
	if p, err := exec.LookPath("influxd"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/bin/influxd"); err == nil && fi.Mode()&0o111 != 0 {
		return "/usr/bin/influxd", nil
	}
	return "", ErrNotInstalled
}

// Require returns influxd's path, or skips tb (fails it under CI=true).
func Require(tb testing.TB) string {
	tb.Helper()
	p, err := Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (CI=true: a missing server is a failure)", err)
		}
		tb.Skip(err)
	}
	return p
}

// Start returns the package's shared server under Main, else a new one
// stopped at the end of tb. Tests sharing a server use their own database
// names.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if !mainActive {
		return StartNew(tb)
	}
	Require(tb)
	sharedOnce.Do(func() { shared, sharedErr = Launch(Options{}) })
	if sharedErr != nil {
		tb.Fatalf("start InfluxDB: %v", sharedErr)
	}
	return shared
}

// Options configure a server.
type Options struct {
	// Auth turns on authentication, with an administrator "admin" whose
	// password is in Server.Password.
	Auth bool
}

// StartNew starts a server of tb's own.
func StartNew(tb testing.TB) *Server {
	tb.Helper()
	return StartWith(tb, Options{})
}

// StartWith starts a server of tb's own with options.
func StartWith(tb testing.TB, opt Options) *Server {
	tb.Helper()
	Require(tb)
	s, err := Launch(opt)
	if err != nil {
		tb.Fatalf("start InfluxDB: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("stop InfluxDB: %v", err)
		}
	})
	return s
}

// Launch starts a server outside a test; the caller calls Stop. A port
// taken between choosing it and binding it makes it try again.
func Launch(opt Options) (*Server, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	var last error
	for try := 0; try < 5; try++ {
		s, err := launch(bin, opt)
		if err == nil {
			return s, nil
		}
		last = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, last
}

func launch(bin string, opt Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "influxtest-")
	if err != nil {
		return nil, err
	}
	ports, err := FreePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Dir: dir, HTTPPort: ports[0], RPCPort: ports[1], Binary: bin, done: make(chan struct{})}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false
  auth-enabled = %t
[logging]
  level = "warn"
  suppress-logo = true
`, s.RPCPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), s.HTTPPort, opt.Auth)
	confFile := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd = exec.Command(bin, "-config", confFile)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start influxd: %w", err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("influxd exited during startup: %v\n%s", s.err, s.log.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.Ping(ctx)
		cancel()
		if err == nil {
			if opt.Auth {
				err = s.createAdmin()
			}
			return s, err
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("influxd did not answer on port %d within 60s: %v\n%s", s.HTTPPort, err, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createAdmin creates the administrator of a server with authentication,
// which the server allows while it has no user.
func (s *Server) createAdmin() error {
	var b [12]byte
	rand.Read(b[:])
	pw := hex.EncodeToString(b[:])
	if _, err := s.QueryRaw("", "CREATE USER admin WITH PASSWORD '"+pw+"' WITH ALL PRIVILEGES"); err != nil {
		s.Stop()
		return err
	}
	s.Admin, s.Password = "admin", pw
	return nil
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Ping asks the HTTP API whether the server is up.
func (s *Server) Ping(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/ping", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// URL is the HTTP API's base URL.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort) }

// Properties are the container properties of influx-database for this
// server.
func (s *Server) Properties() config.Properties {
	return config.Properties{
		{Key: "influxdbHttpPort", Values: []string{strconv.Itoa(s.HTTPPort)}},
		{Key: "influxdbPort", Values: []string{strconv.Itoa(s.RPCPort)}},
		{Key: "influxdbHost", Values: []string{"127.0.0.1"}},
	}
}

// Stop shuts the server down and removes its directory.
func (s *Server) Stop() error {
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
				err = errors.New("influxd did not stop within 30s; killed")
			}
		}
	}
	if rerr := os.RemoveAll(s.Dir); err == nil {
		err = rerr
	}
	return err
}
