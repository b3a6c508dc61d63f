// Package sshtest gives a test a second machine to reach over ssh: a network
// namespace of its own joined to the test's by a veth pair, with a real
// OpenSSH server (Debian's openssh-server) running inside it on a random
// port, a host key and a client key made by the test, and an ssh config file
// for the client. Cutting the link (LinkDown) cuts every connection to it,
// as a failing network would.
//
// The "host" shares the file system with the test: what distinguishes it
// is its network and the environment its sessions get (Options.Env: state
// directory, containers, PATH), set through authorized_keys. Everything —
// sshd, the namespace, the veth pair, the files — is removed by t.Cleanup,
// also when the test fails.
//
// It needs root, ip (iproute2), sshd, ssh and ssh-keygen; without them the
// test is skipped, or fails when the environment variable CI is "true".
package sshtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Sshd is where the OpenSSH server is.
const Sshd = "/usr/sbin/sshd"

// Options configure a host.
type Options struct {
	// Env is the environment of every ssh session on the host, as
	// KEY=VALUE (PATH included). Values may not contain a double quote.
	Env []string
	// Loopback runs sshd on 127.0.0.1 in the caller's own namespace (no
	// link to cut); for benchmarks.
	Loopback bool
}

// Host is a running ssh server in a network namespace of its own.
type Host struct {
	Name       string // the ssh destination: a Host entry of ConfigFile
	NS         string // the network namespace
	Addr       string // the host's address on the link
	Port       int
	ConfigFile string // ssh client config for Name
	Dir        string

	veth    string // the test side of the veth pair
	cmd     *exec.Cmd
	logFile string
	mu      sync.Mutex
}

// SSH is the ssh command for --ssh or DYSNOMIA_SSH.
func (h *Host) SSH() string { return "ssh -F " + h.ConfigFile }

// Require skips tb (fails it under CI=true) when the programs or the
// privileges the host needs are missing.
func Require(tb testing.TB) {
	tb.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces)")
	}
	for _, p := range []string{"ip", "tc", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := os.Stat(Sshd); err != nil {
		missing = append(missing, Sshd+" (openssh-server)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "ssh test host needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Start makes a host for tb, removed by tb.Cleanup.
func Start(tb testing.TB, opts Options) *Host {
	tb.Helper()
	Require(tb)
	h, err := New(opts)
	if h != nil {
		tb.Cleanup(func() {
			if err := h.Close(); err != nil {
				tb.Errorf("sshtest: %v", err)
			}
		})
	}
	if err != nil {
		tb.Fatalf("sshtest: %v", err)
	}
	return h
}

// New makes a host. On an error, the returned host (if not nil) must still
// be closed. With Options.Loopback, it has no namespace of its own.
func New(opts Options) (h *Host, err error) {
	id := fmt.Sprintf("%06x", rand.IntN(1<<24))
	dir, err := os.MkdirTemp("", "sshtest-")
	if err != nil {
		return nil, err
	}
	h = &Host{Name: "target", Dir: dir, Port: 20000 + rand.IntN(40000)}
	if opts.Loopback {
		h.Addr = "127.0.0.1"
	} else {
		h.NS, h.veth = "dys-"+id, "dyv"+id+"a"
		// A /30 in 10.200.0.0/13 picked at random, so that tests running
		// at once get different links.
		n := rand.IntN(1 << 17)
		a, b, c := byte(200+n>>14), byte(n>>6), byte(n<<2)
		local := net.IPv4(10, a, b, c+1).String()
		h.Addr = net.IPv4(10, a, b, c+2).String()
		peer := "dyv" + id + "b"
		for _, args := range [][]string{
			{"netns", "add", h.NS},
			{"link", "add", h.veth, "type", "veth", "peer", "name", peer},
			{"link", "set", peer, "netns", h.NS},
			{"addr", "add", local + "/30", "dev", h.veth},
			{"link", "set", h.veth, "up"},
			{"-n", h.NS, "addr", "add", h.Addr + "/30", "dev", peer},
			{"-n", h.NS, "link", "set", peer, "up"},
			{"-n", h.NS, "link", "set", "lo", "up"},
		} {
			if err := run("ip", args...); err != nil {
				return h, err
			}
		}
	}

	hostKey := filepath.Join(h.Dir, "host_ed25519")
	clientKey := filepath.Join(h.Dir, "id_ed25519")
	for _, k := range []string{hostKey, clientKey} {
		if err := run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshtest", "-f", k); err != nil {
			return h, err
		}
	}
	pub := func(p string) string {
		data, rerr := os.ReadFile(p + ".pub")
		if rerr != nil && err == nil {
			err = rerr
		}
		return strings.TrimSpace(string(data))
	}
	var env []string
	for _, kv := range opts.Env {
		if strings.Contains(kv, `"`) {
			return h, fmt.Errorf("environment entry %q has a double quote", kv)
		}
		env = append(env, `environment="`+kv+`"`)
	}
	keyLine := pub(clientKey)
	if len(env) > 0 {
		keyLine = strings.Join(env, ",") + " " + keyLine
	}
	authorized := filepath.Join(h.Dir, "authorized_keys")
	known := fmt.Sprintf("[%s]:%d %s\n", h.Addr, h.Port, pub(hostKey))
	if err != nil {
		return h, err
	}
	sshdConfig := filepath.Join(h.Dir, "sshd_config")
	h.ConfigFile = filepath.Join(h.Dir, "ssh_config")
	files := map[string]string{
		authorized:                          keyLine + "\n",
		filepath.Join(h.Dir, "known_hosts"): known,
		sshdConfig: strings.Join([]string{
			"Port " + strconv.Itoa(h.Port),
			"ListenAddress " + h.Addr,
			"HostKey " + hostKey,
			"AuthorizedKeysFile " + authorized,
			"PidFile " + filepath.Join(h.Dir, "sshd.pid"),
			"StrictModes no",
			"UsePAM no",
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PermitUserEnvironment yes",
			// The server side of a cut connection ends too (its session's
			// programs see their input end) within about three seconds.
			"ClientAliveInterval 1",
			"ClientAliveCountMax 3",
			"LogLevel ERROR",
			"",
		}, "\n"),
		h.ConfigFile: strings.Join([]string{
			"Host " + h.Name,
			"  HostName " + h.Addr,
			"  Port " + strconv.Itoa(h.Port),
			"  User " + currentUser(),
			"  IdentityFile " + clientKey,
			"  IdentitiesOnly yes",
			"  UserKnownHostsFile " + filepath.Join(h.Dir, "known_hosts"),
			"  StrictHostKeyChecking yes",
			"  BatchMode yes",
			"  ConnectTimeout 5",
			// A cut link is noticed within about three seconds.
			"  ServerAliveInterval 1",
			"  ServerAliveCountMax 3",
			"",
		}, "\n"),
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return h, err
		}
	}

	// sshd wants its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return h, err
	}
	h.logFile = filepath.Join(h.Dir, "sshd.log")
	logf, err := os.Create(h.logFile)
	if err != nil {
		return h, err
	}
	defer logf.Close()
	argv := []string{Sshd, "-D", "-e", "-f", sshdConfig}
	if h.NS != "" {
		argv = append([]string{"ip", "netns", "exec", h.NS}, argv...)
	}
	h.cmd = exec.Command(argv[0], argv[1:]...)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		h.cmd = nil
		return h, fmt.Errorf("start sshd: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), time.Second)
		if err == nil {
			c.Close()
			return h, nil
		}
		if time.Now().After(deadline) {
			return h, fmt.Errorf("sshd did not listen on %s:%d: %v\n%s", h.Addr, h.Port, err, h.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is what sshd wrote.
func (h *Host) Log() string {
	data, _ := os.ReadFile(h.logFile)
	return string(data)
}

// LinkDown cuts the link to the host: packets stop flowing both ways, and
// connections hang until ssh's keep-alive gives up.
func (h *Host) LinkDown() error { return run("ip", "link", "set", h.veth, "down") }

// Limit caps the rate of what the test sends to the host (tc's token
// bucket filter on the test side of the link), e.g. "200mbit", so that a
// transfer lasts long enough to be cut in its middle.
func (h *Host) Limit(rate string) error {
	return run("tc", "qdisc", "replace", "dev", h.veth, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "100ms")
}

// Unlimit removes the cap set by Limit.
func (h *Host) Unlimit() error { return run("tc", "qdisc", "del", "dev", h.veth, "root") }

// LinkUp brings the link back.
func (h *Host) LinkUp() error { return run("ip", "link", "set", h.veth, "up") }

// Close stops sshd and its sessions and removes the namespace, the link and
// the files.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil && h.cmd.Process != nil {
		// sshd and the sessions it forked share its process group.
		syscall.Kill(-h.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		h.cmd = nil
	}
	var errs []error
	if h.NS != "" {
		// Deleting the namespace deletes the peer, and with it the pair.
		if out, err := exec.Command("ip", "netns", "del", h.NS).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
			errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", h.NS, err, out))
		}
		// The pair goes with the namespace, but not always at once.
		if out, err := exec.Command("ip", "link", "del", h.veth).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", h.veth, err, out))
		}
		h.NS = ""
	}
	if h.Dir != "" {
		if err := os.RemoveAll(h.Dir); err != nil {
			errs = append(errs, err)
		}
		h.Dir = ""
	}
	return errors.Join(errs...)
}

func run(prog string, args ...string) error {
	cmd := exec.Command(prog, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" && os.Geteuid() != 0 {
		return u
	}
	return "root"
}
