package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// R4: a writer that cannot get the lock in time fails with a message naming
// the holder.
func TestLockNamesHolder(t *testing.T) {
	s := newStore(t)
	commitText(t, s, testKey, "before\n")
	holder := child(t, "hold-lock", "STORE_DIR="+s.Dir())
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer stdin.Close()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("holder said %q", line)
	}

	rec := &recorder{}
	s.Report = rec
	s.LockTimeout = 300 * time.Millisecond
	_, err := s.GC(context.Background(), Selection{}, 0)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder == nil {
		t.Fatalf("gc while locked: %v, want a *LockedError naming the holder", err)
	}
	pid := strconv.Itoa(holder.Process.Pid)
	if le.Holder.PID != holder.Process.Pid || !strings.Contains(err.Error(), "pid "+pid) || !strings.Contains(err.Error(), "holding for a test") {
		t.Errorf("error %q does not name pid %s and what it does", err, pid)
	}
	if !strings.Contains(rec.String(), "waiting for the lock") || !strings.Contains(rec.String(), "pid "+pid) {
		t.Errorf("the waiter was not told who holds the lock: %q", rec.String())
	}
	if gens := gensOf(t, s, testKey); len(gens) != 1 {
		t.Errorf("the refused gc changed generations: %v", gens)
	}

	// Once the holder lets go, a waiting writer proceeds.
	s.LockTimeout = 10 * time.Second
	done := make(chan error, 1)
	go func() { _, err := s.GC(context.Background(), Selection{}, 0); done <- err }()
	time.Sleep(100 * time.Millisecond)
	stdin.Close()
	if err := <-done; err != nil {
		t.Errorf("gc after the holder released: %v", err)
	}
}

// R4: concurrent writers in separate processes are serialised: every commit
// gets its own generation, none is lost or overwritten.
func TestConcurrentWritersAreSerialised(t *testing.T) {
	s := newStore(t)
	const writers = 6
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := child(t, "commit", "STORE_DIR="+s.Dir(), fmt.Sprintf("STORE_TEXT=writer %d\n", i))
			errs[i] = cmd.Run()
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	gens, _ := s.Generations(testKey)
	seen := map[string]bool{}
	for i, g := range gens {
		if g.N != i+1 {
			t.Errorf("generation %d numbered %d", i+1, g.N)
		}
		seen[g.Snapshot.ID] = true
	}
	if len(gens) != writers || len(seen) != writers {
		t.Errorf("%d generations of %d distinct snapshots, want %d of %d", len(gens), len(seen), writers, writers)
	}
	if r, _ := s.Check(context.Background(), Selection{}, nil); len(r.Findings) != 0 {
		t.Errorf("check: %+v", r.Findings)
	}
}

func TestLockStaleHolder(t *testing.T) {
	s := newStore(t)
	dead := deadPID(t)
	host, _ := os.Hostname()
	record, _ := json.Marshal(Holder{PID: dead, Host: host, Time: time.Now(), What: "snapshot x/y"})

	// The recorded holder is gone but the lock is still held (by a
	// descriptor it passed on): the message says the record is stale.
	os.MkdirAll(s.Dir(), 0o755)
	os.WriteFile(s.path("lock"), record, 0o644)
	f, _ := os.Open(s.path("lock"))
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	s.LockTimeout = 100 * time.Millisecond
	_, err := s.Lock(context.Background(), "test")
	if err == nil || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), strconv.Itoa(dead)) {
		t.Errorf("lock held behind a dead holder: %v", err)
	}
	f.Close()

	// The holder died holding it: the kernel released the lock, and the
	// next writer is warned that something was interrupted.
	rec := &recorder{}
	s.Report = rec
	unlock, err := s.Lock(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if !strings.Contains(rec.String(), "ended without releasing it") {
		t.Errorf("no warning about the dead holder: %q", rec.String())
	}
	if data, _ := os.ReadFile(s.path("lock")); len(data) != 0 {
		t.Errorf("lock file not cleared on unlock: %q", data)
	}
}

// recorder is a ui.Reporter that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Infof(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Warnf(format string, args ...any) {
	r.add("warning: " + fmt.Sprintf(format, args...))
}
func (r *recorder) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }
func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, s)
}
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}
