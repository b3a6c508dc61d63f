// Package pipe moves a stream between this process and a program it runs
// through an OS pipe in large steps.
//
// A dump tool writes its output in pieces of a few KiB (stdio's buffer for
// a pipe is one page), and a loader reads its input the same way. Through
// a plain pipe every piece wakes the other side: a 1 GB dump becomes a
// quarter of a million reads, each a park and a wake-up of a goroutine
// through the runtime's poller, and on 2 cores shared with the tool and its
// server that costs more CPU than compressing the data. Here the pipe holds
// Size bytes, its ends are used with blocking system calls, and a read
// waits (at most 3 ms) until Batch bytes have gathered, a write until Batch
// bytes are free, so that each side moves hundreds of KiB per system call
// while the other keeps going. The wait is paced by the peer's rate, so
// that it is mostly one sleep.
package pipe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// Size is the capacity asked for (the kernel's limit for unprivileged
	// users, /proc/sys/fs/pipe-max-size, is 1 MiB by default).
	Size = 1 << 20
	// Batch is what a read waits to gather, or a write to find free.
	Batch = 256 << 10
	// maxWait bounds the wait for a batch, so that a slow peer is not
	// held up: after it, whatever is there is moved.
	maxWait = 3 * time.Millisecond
	// step is the first wait, before the peer's rate is known; minStep
	// the shortest.
	step    = 500 * time.Microsecond
	minStep = 100 * time.Microsecond
)

// sleep sleeps d in a system call: the runtime's timers would cost a
// wake-up through the scheduler for every wait.
func sleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// pacer waits for a pipe to reach a fill level with as few sleeps as it
// can: each wait is as long as the peer's rate, measured over the waits
// before, says the rest takes (a sleep is a context switch and, in a
// virtual machine, a timer programmed through the host).
type pacer struct {
	rate float64 // bytes per second the peer moved in the last wait, 0 if none

	// The clock and the sleep, replaced by the tests; nil: the real ones.
	now   func() time.Time
	sleep func(time.Duration)
}

// await polls have (the bytes gathered so far: in the pipe for a reader,
// free in it for a writer) until it reaches want or maxWait has passed, and
// returns the last figure; ok is false when the pipe cannot be asked.
func (p *pacer) await(want int, have func() (int, error)) (n int, ok bool) {
	now, doSleep := p.now, p.sleep
	if now == nil {
		now, doSleep = time.Now, sleep
	}
	n, err := have()
	if err != nil {
		return 0, false
	}
	for waited := time.Duration(0); n < want && waited < maxWait; {
		d := step
		if p.rate > 0 {
			// A twentieth more than the rate says, so that a peer
			// a little slower than before does not cost another
			// sleep.
			d = time.Duration(float64(want-n) / p.rate * 1.05 * float64(time.Second))
		}
		d = min(max(d, minStep), maxWait-waited)
		t0 := now()
		doSleep(d)
		slept := now().Sub(t0)
		waited += slept
		m, err := have()
		if err != nil {
			return n, false
		}
		// A peer that moved nothing gives no rate: the next wait is
		// a step again, not one scaled by a rate it no longer keeps.
		p.rate = 0
		if m > n && slept > 0 {
			p.rate = float64(m-n) / slept.Seconds()
		}
		n = m
	}
	return n, true
}

// New returns a pipe of Size bytes (or the system's default when it
// refuses). Give one end to the program (exec.Cmd's Stdin or Stdout, closed
// here after Start) and wrap the other with NewReader or NewWriter.
//
// Its ends are blocking and never registered with the runtime's poller
// (os.Pipe registers them): once a pipe has been polled, the kernel wakes
// its pollers on every write into it, not only when it was empty, so a
// dump tool's 4 KiB writes would each wake the poller's thread of this
// process, on cores the tool and its server need (bench/mysql: the
// snapshot's CPU wait).
func New() (r, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, Size)
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1"), nil
}

// Reader reads the read end of a pipe in batches.
type Reader struct {
	f    *os.File
	fd   int
	pace pacer
}

// NewReader wraps the read end f. It puts f in blocking mode. Reads into
// buffers of at least Batch bytes move that much per system call whenever
// the writer keeps up.
func NewReader(f *os.File) *Reader { return &Reader{f: f, fd: int(f.Fd())} }

// Read waits up to 3 ms for min(len(p), Batch) bytes to be in the pipe,
// then reads what is there (blocking while it is empty).
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.pace.await(min(len(p), Batch), func() (int, error) { return unix.IoctlGetInt(r.fd, unix.TIOCINQ) })
	for {
		n, err := unix.Read(r.fd, p)
		runtime.KeepAlive(r.f)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Writer writes to the write end of a pipe in batches.
type Writer struct {
	f    *os.File
	fd   int
	cap  int
	pace pacer
}

// NewWriter wraps the write end f. It puts f in blocking mode.
func NewWriter(f *os.File) *Writer {
	w := &Writer{f: f, fd: int(f.Fd())}
	w.cap, _ = unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
	return w
}

// Write writes all of p, each time waiting up to 3 ms for Batch bytes to be
// free in the pipe. A reader that went away gives an error wrapping EPIPE.
func (w *Writer) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		chunk := len(p) - done
		if w.cap > 0 {
			// Write no more than fits: a blocked writer is woken for
			// every page the reader frees.
			want := min(chunk, Batch)
			free, _ := w.pace.await(want, func() (int, error) {
				n, err := unix.IoctlGetInt(w.fd, unix.TIOCINQ)
				return w.cap - n, err
			})
			chunk = min(chunk, max(free, want))
		}
		n, err := unix.Write(w.fd, p[done:done+chunk])
		runtime.KeepAlive(w.f)
		if n > 0 {
			done += n
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return done, &os.PathError{Op: "write", Path: w.f.Name(), Err: err}
		}
	}
	return done, nil
}

// Close closes the write end: the reader sees the end of the stream.
func (w *Writer) Close() error { return w.f.Close() }

// Run runs cmd with src on its standard input, through a pipe of New
// written by a Writer. A failure to read src is the error when the program
// itself succeeded, as with exec.Cmd's own copying, which likewise ignores
// the EPIPE of a program that succeeded without reading all its input. A
// nil src runs cmd as it is; an *os.File becomes the program's standard
// input itself.
func Run(cmd *exec.Cmd, src io.Reader) error {
	if f, ok := src.(*os.File); ok && f != nil {
		cmd.Stdin = f
		return cmd.Run()
	}
	if src == nil {
		return cmd.Run()
	}
	pr, pw, err := New()
	if err != nil {
		return err
	}
	cmd.Stdin = pr
	err = cmd.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		return err
	}
	copied := make(chan error, 1)
	go func() {
		w := NewWriter(pw)
		_, err := io.CopyBuffer(w, src, make([]byte, 1<<20))
		w.Close()
		copied <- err
	}()
	werr := cmd.Wait()
	cerr := <-copied
	if werr != nil {
		return werr
	}
	if cerr != nil && !errors.Is(cerr, unix.EPIPE) {
		return fmt.Errorf("copy to %s: %w", filepath.Base(cmd.Path), cerr)
	}
	return nil
}
