package subversion

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// The work repositories of a component, in its work directory.
const (
	newName = "new" // being built by activate or restore
	oldName = "old" // being removed by collect-garbage
)

// lockRepo takes the component's lock: exclusive for activities that
// create, replace or remove the repository, shared for snapshots. It waits
// while another process holds it, until ctx ends. An exclusive holder first
// removes what a killed run left in the work directory.
func lockRepo(ctx context.Context, req *module.Request, s *settings, exclusive bool) (release func(), err error) {
	if err := os.MkdirAll(s.baseDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.work, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.work, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	waiting := false
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if !waiting {
			req.Report.Infof("waiting for another dysnomia process working on %s", s.repo)
			waiting = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	release = func() { f.Close() } // closing the file releases the lock
	if exclusive {
		for _, n := range []string{newName, oldName} {
			p := filepath.Join(s.work, n)
			if _, err := os.Lstat(p); err == nil {
				req.Report.Warnf("removing %s, left by an interrupted run", p)
				if err := os.RemoveAll(p); err != nil {
					release()
					return nil, err
				}
			}
		}
	}
	return release, nil
}

// lock refuses while another process holds the component's lock
// exclusively (an activation, restore or garbage collection).
func lock(req *module.Request, s *settings) error {
	f, err := os.Open(filepath.Join(s.work, "lock"))
	if os.IsNotExist(err) {
		return nil // nothing has ever run on this repository
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("refusing to lock: an activation, restore or garbage collection of %s is running", s.repo)
		}
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}
