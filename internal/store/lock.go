package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Holder describes the process holding the store lock.
type Holder struct {
	PID  int       `json:"pid"`
	Host string    `json:"host"`
	Time time.Time `json:"time"`
	What string    `json:"what"`
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d on %s since %s (%s)", h.PID, h.Host, h.Time.Format(time.RFC3339), h.What)
	if h.Stale() {
		s += fmt.Sprintf(" [stale: process %d is gone; a process it started may still hold the lock]", h.PID)
	}
	return s
}

// Stale reports whether the recorded holder is a process of this host that
// no longer exists.
func (h Holder) Stale() bool {
	host, _ := os.Hostname()
	return h.PID > 0 && h.Host == host && !processAlive(h.PID)
}

// LockedError is returned when the store lock could not be taken in time.
type LockedError struct {
	Dir    string
	Holder *Holder // nil when the holder did not record itself
}

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("state directory %s is locked by another dysnomia process", e.Dir)
	}
	return fmt.Sprintf("state directory %s is locked by %s", e.Dir, e.Holder)
}

// Lock takes the store's exclusive writer lock, waiting up to LockTimeout
// and telling the Reporter who holds it. The lock is an flock(2) on
// <statedir>/lock, so it is released by the kernel when its holder dies: a
// lock left by a killed process is never stale. The file's content names the
// holder, for the messages of those who wait. The lock is not reentrant: a
// process that holds it and asks again waits for itself.
func (s *Store) Lock(ctx context.Context, what string) (unlock func(), err error) {
	if err := s.mkdirAll(s.dir); err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	f, err := os.OpenFile(s.path("lock"), os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	deadline := time.Now().Add(s.LockTimeout)
	told := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock state directory: %w", err)
		}
		holder := readHolder(s.path("lock"))
		if time.Now().After(deadline) {
			f.Close()
			return nil, &LockedError{Dir: s.dir, Holder: holder}
		}
		if !told {
			told = true
			s.Report.Infof("waiting for the lock on %s, held by %s", s.dir, holderString(holder))
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if prev := readHolder(s.path("lock")); prev != nil && prev.PID != os.Getpid() {
		// A holder that unlocks clears the file: this one died holding it.
		s.Report.Warnf("the previous holder of the lock on %s, pid %d (%s), ended without releasing it; "+
			"nothing it left half-done is visible, and `dysnomia snapshots gc` removes its leftovers", s.dir, prev.PID, prev.What)
	}
	host, _ := os.Hostname()
	data, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Time: time.Now().UTC().Truncate(time.Second), What: what})
	if err := f.Truncate(0); err == nil {
		f.WriteAt(data, 0)
	}
	return func() {
		f.Truncate(0)
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

func readHolder(path string) *Holder {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return nil
	}
	var h Holder
	if json.Unmarshal(data, &h) != nil {
		return nil
	}
	return &h
}

func holderString(h *Holder) string {
	if h == nil {
		return "another dysnomia process"
	}
	return h.String()
}
