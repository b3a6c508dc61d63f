//go:build linux

// Package peer connects to a PostgreSQL server's Unix socket with the
// identity of another operating-system user, so that the server's peer
// authentication (SO_PEERCRED) sees that user.
//
// Dysnomia runs as root, while PostgreSQL on NixOS and Debian authenticates
// local connections by the peer's OS user ("local all all peer"). Tools such
// as pg_dump are simply started as that user; for the in-process driver
// connection, the Dialer changes the effective user and group IDs of one
// locked OS thread only (setresuid/setresgid on that thread, never on the
// process), creates and connects the socket there, and switches back. The
// kernel records the connecting thread's credentials at connect(2), so the
// server sees the target user, while the rest of the process stays root.
//
// If switching back fails the thread is left locked, and the Go runtime then
// terminates it when its goroutine ends, so no other goroutine ever runs with
// the borrowed identity.
package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Identity is an operating-system user to connect as.
type Identity struct {
	Name     string
	UID, GID int
}

// Lookup finds the OS user name. It returns nil and no error when there is
// no such user: the connection is then made as the process itself.
func Lookup(name string) (*Identity, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, nil
		}
		return nil, fmt.Errorf("look up OS user %q: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("OS user %q: uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("OS user %q: gid %q", name, u.Gid)
	}
	return &Identity{Name: name, UID: uid, GID: gid}, nil
}

// Switches reports whether connecting or running a program as id needs a
// change of identity: the process is root and id is another user.
func (id *Identity) Switches() bool {
	return id != nil && os.Geteuid() == 0 && (id.UID != 0 || id.GID != 0)
}

// Dialer dials as an Identity. Its DialContext has the signature of
// pgconn.DialFunc.
type Dialer struct {
	// As is the identity Unix-socket connections are made with; nil, or a
	// process that is not root, dials as the process itself.
	As *Identity
	// Timeout bounds connect(2) when the context has no deadline.
	Timeout time.Duration
}

// DialContext connects to addr. Only "unix" connections change identity;
// TCP connections are made normally.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "unix" || !d.As.Switches() {
		nd := net.Dialer{Timeout: d.Timeout}
		return nd.DialContext(ctx, network, addr)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: context.DeadlineExceeded}
		}
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, restored, err := connectAs(addr, d.As, timeout)
		if restored {
			runtime.UnlockOSThread()
		}
		ch <- result{fd, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil {
				unix.Close(r.fd)
			}
		}()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	if r.err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: &net.UnixAddr{Name: addr, Net: network}, Err: r.err}
	}
	f := os.NewFile(uintptr(r.fd), "unix:"+addr)
	defer f.Close()
	return net.FileConn(f)
}

// connectAs runs on a locked thread: it borrows id's effective IDs for
// socket(2) and connect(2) and switches back. restored is false when the
// thread could not get its own identity back.
func connectAs(addr string, id *Identity, timeout time.Duration) (fd int, restored bool, err error) {
	egid := unix.Getegid()
	if err := setresgid(-1, id.GID, -1); err != nil {
		return -1, true, fmt.Errorf("switch to group %d: %w", id.GID, err)
	}
	if err := setresuid(-1, id.UID, -1); err != nil {
		restored = setresgid(-1, egid, -1) == nil
		return -1, restored, fmt.Errorf("switch to user %s: %w", id.Name, err)
	}
	fd, err = connect(addr, timeout)
	restored = setresuid(-1, 0, -1) == nil && setresgid(-1, egid, -1) == nil
	if err == nil && !restored {
		unix.Close(fd)
		return -1, false, errors.New("could not switch the connecting thread back to root")
	}
	return fd, restored, err
}

func connect(addr string, timeout time.Duration) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: addr})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	zero := unix.Timeval{}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &zero)
	return fd, nil
}

// setresuid and setresgid change the calling thread only: they are the raw
// system calls, not the process-wide wrappers of package syscall.
func setresuid(r, e, s int) error {
	_, _, errno := unix.RawSyscall(sysSetresuid, uintptr(r), uintptr(e), uintptr(s))
	if errno != 0 {
		return errno
	}
	return nil
}

func setresgid(r, e, s int) error {
	_, _, errno := unix.RawSyscall(sysSetresgid, uintptr(r), uintptr(e), uintptr(s))
	if errno != 0 {
		return errno
	}
	return nil
}
