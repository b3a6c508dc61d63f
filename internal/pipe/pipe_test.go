package pipe

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"golang.org/x/sys/unix"
)

// A stream written through a Writer into cat and read back from cat through
// a Reader arrives whole and in order, in writes and reads of odd sizes.
func TestRoundTripThroughAProgram(t *testing.T) {
	data := make([]byte, 5<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	inR, inW, err := New()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cat")
	cmd.Stdin, cmd.Stdout = inR, outW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	w := NewWriter(inW)
	go func() {
		for off := 0; off < len(data); {
			n := min(len(data)-off, 1+r.IntN(3<<20))
			if _, err := w.Write(data[off : off+n]); err != nil {
				t.Error(err)
				break
			}
			off += n
		}
		w.Close()
	}()
	var got bytes.Buffer
	rd := NewReader(outR)
	buf := make([]byte, 1<<20)
	for {
		n, err := rd.Read(buf[:1+len(got.Bytes())%len(buf)])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d bytes back, want the %d written", got.Len(), len(data))
	}
}

// Writing to a pipe whose reader has gone fails with EPIPE instead of
// killing the process.
func TestWriteToClosedReader(t *testing.T) {
	r, wf, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w := NewWriter(wf)
	defer w.Close()
	if _, err := w.Write(make([]byte, 3*Batch)); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write = %v, want EPIPE", err)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		r.n--
		return copy(p, "data\n"), nil
	}
	return 0, errors.New("disk on fire")
}

// Run reports a failure to read its source when the program succeeded,
// and the program's failure otherwise.
func TestRun(t *testing.T) {
	if err := Run(exec.Command("sh", "-c", "cat > /dev/null"), &failingReader{n: 3}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Run with a failing source = %v, want its error", err)
	}
	var ee *exec.ExitError
	if err := Run(exec.Command("sh", "-c", "exit 3"), bytes.NewReader(make([]byte, 3<<20))); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Run of a failing program = %v, want its exit status 3", err)
	}
	if err := Run(exec.Command("sh", "-c", "head -c 10 > /dev/null"), bytes.NewReader(make([]byte, 3<<20))); err != nil {
		t.Errorf("a program that succeeds without reading everything: %v", err)
	}
}

// The ends of New are never in the runtime's epoll set: a pipe that was
// polled once makes the kernel wake its pollers on every write into it.
// os.Pipe's ends are, which shows that the check sees registrations.
func TestNewIsNotPolled(t *testing.T) {
	or, ow, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer or.Close()
	defer ow.Close()
	r, w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	polled := epollTargets(t)
	if !polled[int(or.Fd())] {
		t.Fatalf("os.Pipe's read end %d is not among the polled fds %v: the check cannot see registrations", or.Fd(), polled)
	}
	for _, f := range []*os.File{r, w} {
		if polled[int(f.Fd())] {
			t.Errorf("pipe end %s (fd %d) is registered with the poller", f.Name(), f.Fd())
		}
	}
	if n, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || n < Size {
		t.Errorf("pipe capacity = %d, %v; want at least %d", n, err, Size)
	}
}

// epollTargets is the set of file descriptors registered with any epoll
// instance of this process (the "tfd:" lines of its fdinfo).
func epollTargets(t *testing.T) map[int]bool {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[int]bool{}
	for _, e := range entries {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(info), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "tfd:" {
				if fd, err := strconv.Atoi(f[1]); err == nil {
					targets[fd] = true
				}
			}
		}
	}
	return targets
}

// fakePeer fills (or drains) a pipe at a steady rate on a fake clock that
// only the pacer's sleeps advance.
type fakePeer struct {
	t      time.Duration // fake time since the start
	rate   float64       // bytes per second; 0: stalled
	sleeps int
}

func (f *fakePeer) pacer() *pacer {
	start := time.Unix(0, 0)
	return &pacer{
		now:   func() time.Time { return start.Add(f.t) },
		sleep: func(d time.Duration) { f.sleeps++; f.t += d },
	}
}

func (f *fakePeer) have() (int, error) { return int(f.rate * f.t.Seconds()), nil }

// The pacer gathers a batch from a steady peer in two sleeps (the first
// step measures the rate, the second waits for the rest), and each batch
// after that in one, where steps of 0.5 ms took six; a stalled peer gets
// sleeps of a step until the wait's bound, never a burst of short ones.
func TestPacerSleepsAsTheRateSays(t *testing.T) {
	type result struct {
		Sleeps  int
		Enough  bool
		TimedUp bool
	}
	cases := []struct {
		name  string
		rate  float64 // bytes per second
		want  int
		calls int
		per   []result
	}{
		// 100 MB/s: a 256 KiB batch takes 2.6 ms, six steps of 0.5 ms.
		{"steady peer", 100e6, Batch, 3, []result{{2, true, false}, {1, true, false}, {1, true, false}}},
		// 2 GB/s: the reader empties the pipe each time, and each
		// batch is there after the shortest sleep.
		{"fast peer", 2e9, Batch, 2, []result{{1, true, false}, {1, true, false}}},
		{"stalled peer", 0, Batch, 2, []result{{int(maxWait / step), false, true}, {int(maxWait / step), false, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakePeer{rate: c.rate}
			p := f.pacer()
			var got []result
			consumed := 0
			for i := 0; i < c.calls; i++ {
				f.sleeps = 0
				t0 := f.t
				n, ok := p.await(c.want, func() (int, error) { h, err := f.have(); return h - consumed, err })
				if !ok {
					t.Fatal("await: not ok")
				}
				got = append(got, result{Sleeps: f.sleeps, Enough: n >= c.want, TimedUp: f.t-t0 >= maxWait})
				consumed += n // the reader takes what is there
			}
			if diff := cmp.Diff(c.per, got); diff != "" {
				t.Errorf("per call (-want +got):\n%s", diff)
			}
		})
	}
}
