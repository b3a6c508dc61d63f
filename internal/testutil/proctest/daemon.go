package proctest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test daemon is the test binary run with these variables set.
const (
	envMode       = "DYSNOMIA_TESTDAEMON"            // "start": daemonise; "run": the daemon itself; "foreground": run without a pid file
	envPidFile    = "DYSNOMIA_TESTDAEMON_PIDFILE"    // where the daemon writes its pid
	envSocket     = "DYSNOMIA_TESTDAEMON_SOCKET"     // the Unix socket it answers on
	envIgnoreTerm = "DYSNOMIA_TESTDAEMON_IGNORETERM" // "1": it ignores SIGTERM
)

// DaemonMain must be called first thing in the TestMain of a package that
// uses Daemon: when the test binary runs as the test daemon, it does that
// and exits.
func DaemonMain() {
	switch os.Getenv(envMode) {
	case "start":
		os.Exit(start())
	case "run":
		os.Exit(serve(true))
	case "foreground":
		os.Exit(serve(false))
	}
}

// start is what a classic daemon's parent does: it starts the daemon in a
// new session, detached from its streams, waits until the pid file is
// there, and exits.
func start() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test daemon:", err)
		return 1
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test daemon:", err)
		return 1
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envMode+"=run")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "test daemon:", err)
		return 1
	}
	pidFile := os.Getenv(envPidFile)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(data)) == strconv.Itoa(cmd.Process.Pid) {
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "test daemon: no pid file", pidFile)
	return 1
}

// serve answers every connection on the socket with "hello from PID" and
// stops on SIGTERM (removing its pid file), unless told to ignore it.
func serve(writePid bool) int {
	sock := os.Getenv(envSocket)
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test daemon:", err)
		return 1
	}
	pidFile := os.Getenv(envPidFile)
	if writePid {
		tmp := pidFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return 1
		}
		if err := os.Rename(tmp, pidFile); err != nil {
			return 1
		}
	}
	sigs := make(chan os.Signal, 1)
	if os.Getenv(envIgnoreTerm) == "1" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %d\n", os.Getpid())
			c.Close()
		}
	}()
	<-sigs
	l.Close()
	if writePid {
		os.Remove(pidFile)
	}
	return 0
}

// Daemon is a test daemon's program and the files it uses.
type Daemon struct {
	Script  string // an executable that starts the daemon (the parent exits once the pid file is there)
	PidFile string
	Socket  string
}

// NewDaemon writes, at script, an executable that starts a test daemon
// writing pidFile and answering on socket. With ignoreTerm the daemon
// ignores SIGTERM. With foreground the program is the daemon itself, which
// stays in the foreground and writes no pid file (for supervisors).
func NewDaemon(tb testing.TB, script, pidFile, socket string, ignoreTerm, foreground bool) *Daemon {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	mode := "start"
	if foreground {
		mode = "foreground"
	}
	ign := "0"
	if ignoreTerm {
		ign = "1"
	}
	body := fmt.Sprintf("#!/bin/sh\nexec env %s=%s %s=%s %s=%s %s=%s %s\n",
		envMode, mode, envPidFile, ShellQuote(pidFile), envSocket, ShellQuote(socket), envIgnoreTerm, ign, ShellQuote(self))
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		tb.Fatal(err)
	}
	return &Daemon{Script: script, PidFile: pidFile, Socket: socket}
}

// Ask connects to the daemon's socket and returns its greeting.
func (d *Daemon) Ask() (string, error) { return AskUnix(d.Socket) }

// AskUnix connects to a Unix socket and returns the first line it sends.
func AskUnix(sock string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// Pid reads the daemon's pid file.
func (d *Daemon) Pid() (int, error) {
	data, err := os.ReadFile(d.PidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// Alive reports whether pid is a live (not zombie) process.
func Alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Kill ends pid (for cleanups), ignoring errors.
func Kill(pid int) {
	if pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// KillFromPidFile kills the process a pid file names, if any: a cleanup
// for tests that start daemons.
func KillFromPidFile(pidFile string) {
	if data, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			Kill(pid)
		}
	}
}
