// Package ejabberdtest starts throwaway ejabberd nodes for tests: a
// configuration, spool and log directory in a temporary directory, a node
// name of its own, Erlang distribution on a free port bound to 127.0.0.1
// without epmd, a random cookie, and no XMPP listeners. The node runs as the
// "ejabberd" system user (Debian's ejabberd package creates it; ejabberdctl
// insists on it when started as root) and is stopped and removed
// afterwards.
//
// Typical use, one node shared by the tests of a package:
//
//	func TestMain(m *testing.M) { os.Exit(ejabberdtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		node := ejabberdtest.Start(t)
//		props := node.Properties() // container properties for ejabberd-dump
//		node.Ctl(t, "register", "alice", "localhost", "secret")
//	}
//
// When ejabberdctl or the user is missing the test is skipped, or fails
// under CI=true.
package ejabberdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// User is the system user the node runs as.
const User = "ejabberd"

// Host is the node's one virtual host.
const Host = "localhost"

// ErrNotInstalled is returned when ejabberd cannot run here.
var ErrNotInstalled = errors.New("ejabberdtest: ejabberdctl or the ejabberd user not found (apt-get install ejabberd)")

// Node is a running throwaway ejabberd node.
type Node struct {
	Dir       string // temporary directory holding everything
	ConfigDir string // ejabberd.yml, ejabberdctl.cfg, inetrc
	SpoolDir  string // the Mnesia directory
	Name      string // the Erlang node name
	Ctlpath   string // ejabberdctl

	cred *syscall.Credential
	home string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	out  bytes.Buffer
}

var (
	mainActive bool
	sharedOnce sync.Once
	shared     *Node
	sharedErr  error
)

// Main runs a package's tests with one shared node, started on first use
// by Start and stopped at the end.
func Main(m *testing.M) int {
	mainActive = true
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "ejabberdtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Find locates ejabberdctl and checks that the node can run as User.
func Find() (string, error) {
	p, err := exec.LookPath("ejabberdctl")
	if err != nil {
		p = "/usr/sbin/ejabberdctl"
		if _, serr := os.Stat(p); serr != nil {
			return "", ErrNotInstalled
		}
	}
	if _, err := user.Lookup(User); err != nil {
		return "", ErrNotInstalled
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: running the node as %s needs root", ErrNotInstalled, User)
	}
	return p, nil
}

// Require skips tb when ejabberd cannot run (fails it under CI=true).
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

// Start returns the package's shared node under Main, else a new one
// stopped at the end of tb.
func Start(tb testing.TB) *Node {
	tb.Helper()
	Require(tb)
	if !mainActive {
		n, err := Launch()
		if err != nil {
			tb.Fatalf("start ejabberd: %v", err)
		}
		tb.Cleanup(func() {
			if err := n.Stop(); err != nil {
				tb.Errorf("stop ejabberd: %v", err)
			}
		})
		return n
	}
	sharedOnce.Do(func() { shared, sharedErr = Launch() })
	if sharedErr != nil {
		tb.Fatalf("start ejabberd: %v", sharedErr)
	}
	return shared
}

// Launch starts a node outside a test; the caller calls Stop.
func Launch() (*Node, error) {
	ctl, err := Find()
	if err != nil {
		return nil, err
	}
	u, _ := user.Lookup(User)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "ejabberdtest-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755)
	var b [8]byte
	rand.Read(b[:])
	tag := hex.EncodeToString(b[:])
	n := &Node{
		Dir: dir, ConfigDir: filepath.Join(dir, "conf"), SpoolDir: filepath.Join(dir, "spool"),
		Name: "dysnomia" + tag[:8] + "@localhost", Ctlpath: ctl,
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, home: u.HomeDir,
		done: make(chan struct{}),
	}
	if err := n.start(tag); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(cookie string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logs := filepath.Join(n.Dir, "logs")
	for _, d := range []string{n.ConfigDir, n.SpoolDir, logs} {
		if err := os.Mkdir(d, 0o750); err != nil {
			return err
		}
	}
	files := map[string]string{
		"ejabberd.yml": `hosts:
  - ` + Host + `
loglevel: warning
log_rotate_count: 0
listen: []
auth_method: internal
auth_password_format: plain
acl:
  admin:
    user: admin@` + Host + `
modules:
  mod_admin_extra: {}
  mod_last: {}
  mod_offline: {}
  mod_private: {}
  mod_roster: {}
  mod_vcard: {}
`,
		"ejabberdctl.cfg": fmt.Sprintf(`ERLANG_NODE=%s
ERL_DIST_PORT=%d
INET_DIST_INTERFACE=127.0.0.1
ERL_OPTIONS="-setcookie %s"
SPOOL_DIR=%s
LOGS_DIR=%s
EJABBERD_CONFIG_PATH=%s
`, n.Name, port, cookie, n.SpoolDir, logs, filepath.Join(n.ConfigDir, "ejabberd.yml")),
		"inetrc": "{lookup,[\"file\",\"native\"]}.\n{host,{127,0,0,1}, [\"localhost\"]}.\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(n.ConfigDir, name), []byte(content), 0o640); err != nil {
			return err
		}
	}
	if err := filepath.Walk(n.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil || p == n.Dir {
			return err
		}
		return os.Chown(p, int(n.cred.Uid), int(n.cred.Gid))
	}); err != nil {
		return err
	}
	n.cmd = n.command("foreground")
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	n.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start ejabberd: %w", err)
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-n.done:
			return fmt.Errorf("ejabberd exited during startup: %v\n%s", n.err, n.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := n.ctl(ctx, "status")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ejabberd did not start within 90s: %v\n%s", err, n.out.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command prepares ejabberdctl --config-dir … args as the node's user.
func (n *Node) command(args ...string) *exec.Cmd {
	cmd := exec.Command(n.Ctlpath, append([]string{"--config-dir", n.ConfigDir}, args...)...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + n.home, "USER=" + User, "LOGNAME=" + User}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: n.cred, Setpgid: true}
	return cmd
}

func (n *Node) ctl(ctx context.Context, args ...string) (string, error) {
	cmd := n.command(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			return out.String(), fmt.Errorf("ejabberdctl %s: %v: %s", strings.Join(args, " "), err, out.String())
		}
		return out.String(), nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-errc
		return out.String(), ctx.Err()
	}
}

// CtlErr runs an ejabberdctl command on the node and returns its output.
func (n *Node) CtlErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return n.ctl(ctx, args...)
}

// Ctl is CtlErr failing tb on an error.
func (n *Node) Ctl(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := n.CtlErr(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Reset deletes the data of Host (accounts, rosters, vCards, …) and clears
// the node's caches.
func (n *Node) Reset(tb testing.TB) {
	tb.Helper()
	n.Ctl(tb, "delete_mnesia", Host)
	n.Ctl(tb, "clear_cache")
}

// Users lists the registered users of Host, sorted.
func (n *Node) Users(tb testing.TB) []string {
	tb.Helper()
	return strings.Fields(n.Ctl(tb, "registered_users", Host))
}

// Properties are the container properties of ejabberd-dump for this node.
func (n *Node) Properties() config.Properties {
	return config.Properties{
		{Key: "ejabberdUser", Values: []string{User}},
		{Key: "ejabberdConfigDir", Values: []string{n.ConfigDir}},
		{Key: "ejabberdSpoolDir", Values: []string{n.SpoolDir}},
		{Key: "ejabberdctl", Values: []string{n.Ctlpath}},
		{Key: "timeout", Values: []string{"30"}},
	}
}

// Stop stops the node and removes its directory.
func (n *Node) Stop() error {
	var err error
	if n.cmd != nil && n.cmd.Process != nil {
		select {
		case <-n.done:
		default:
			n.CtlErr("stop")
			select {
			case <-n.done:
			case <-time.After(30 * time.Second):
				syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
				<-n.done
				err = errors.New("ejabberd did not stop within 30s; killed")
			}
		}
		// The VM's helpers (inet_gethost, erl_child_setup) share its group.
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	}
	if rerr := os.RemoveAll(n.Dir); err == nil {
		err = rerr
	}
	return err
}
