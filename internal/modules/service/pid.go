package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// pollInterval is how often WaitFor checks.
const pollInterval = 50 * time.Millisecond

// WaitFor calls cond until it returns true or timeout has passed since the
// call (checking once more at the deadline), or ctx ends. It reports
// whether cond became true.
func WaitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return ok, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(min(pollInterval, left)):
		}
	}
}

// ReadPid reads a pid file. ok is false when the file does not exist; a
// file that holds no pid is an error naming it.
func ReadPid(file string) (pid int, ok bool, err error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	s := strings.TrimSpace(string(data))
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		s = s[:i]
	}
	pid, err = strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, true, fmt.Errorf("pid file %s holds no pid: %q", file, strings.TrimSpace(string(data)))
	}
	return pid, true, nil
}

// Alive reports whether pid names a running process (one that exists and
// has not exited: a zombie counts as gone).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	// The state follows the parenthesised command name, which may hold
	// spaces and parentheses itself.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		switch stat[i+2] {
		case 'Z', 'X', 'x':
			return false
		}
	}
	return true
}

// Stop sends pid SIGTERM and waits up to timeout for it to exit; if it has
// not, it sends SIGKILL (with a warning) and waits up to 5 more seconds.
func Stop(ctx context.Context, pid int, timeout time.Duration, report ui.Reporter) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("send SIGTERM to process %d: %w", pid, err)
	}
	gone := func() (bool, error) { return !Alive(pid), nil }
	ok, err := WaitFor(ctx, timeout, gone)
	if err != nil || ok {
		return err
	}
	report.Warnf("process %d did not exit within %s of SIGTERM; sending SIGKILL", pid, timeout)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIGKILL to process %d: %w", pid, err)
	}
	if ok, err := WaitFor(ctx, 5*time.Second, gone); err != nil || ok {
		return err
	}
	return fmt.Errorf("process %d is still there 5 s after SIGKILL", pid)
}
