package pipe

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
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
