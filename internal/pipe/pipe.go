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
// waits (at most 3 ms) until Batch bytes have gathered, a write until Batch bytes
// are free, so that each side moves hundreds of KiB per system call while
// the other keeps going.
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
	step    = 500 * time.Microsecond
)

// pause sleeps one step in a system call: the runtime's timers would cost
// a wake-up through the scheduler for every step.
func pause() {
	ts := unix.NsecToTimespec(int64(step))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// New returns a pipe of Size bytes (or the system's default when it
// refuses). Give one end to the program (exec.Cmd's Stdin or Stdout, closed
// here after Start) and wrap the other with NewReader or NewWriter.
func New() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	unix.FcntlInt(r.Fd(), unix.F_SETPIPE_SZ, Size)
	return r, w, nil
}

// Reader reads the read end of a pipe in batches.
type Reader struct {
	f  *os.File
	fd int
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
	want := min(len(p), Batch)
	for waited := time.Duration(0); waited < maxWait; waited += step {
		n, err := unix.IoctlGetInt(r.fd, unix.TIOCINQ)
		if err != nil || n >= want {
			break
		}
		pause()
	}
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
	f   *os.File
	fd  int
	cap int
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
			want, free := min(chunk, Batch), 0
			for waited := time.Duration(0); ; waited += step {
				n, err := unix.IoctlGetInt(w.fd, unix.TIOCINQ)
				if err != nil {
					break
				}
				if free = w.cap - n; free >= want || waited >= maxWait {
					break
				}
				pause()
			}
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
