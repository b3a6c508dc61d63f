// Package tail keeps the end of a stream as it passes, so that a module can
// check a dump's end marker (a trailer line, a final statement) while the
// dump streams into the server's loader, without reading it twice.
package tail

import (
	"bytes"
	"io"
)

// Reader passes R through, keeping at least the last Keep bytes read and
// noting whether the end of R was reached.
type Reader struct {
	R    io.Reader
	Keep int

	buf []byte
	eof bool
}

// Read implements io.Reader.
func (t *Reader) Read(p []byte) (int, error) {
	n, err := t.R.Read(p)
	t.buf = append(t.buf, p[:n]...)
	if len(t.buf) > 2*t.Keep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.Keep:]...)
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// EOF reports whether the whole stream was read. A loader that stopped
// early (on an error of its own) leaves it false: the end was never seen.
func (t *Reader) EOF() bool { return t.eof }

// Tail is the last bytes read: at least Keep of them, when there were that
// many.
func (t *Reader) Tail() []byte { return t.buf }

// LastLine is the last line of the tail that is not blank, without its
// newline; "" when there is none.
func (t *Reader) LastLine() string {
	b := bytes.TrimRight(t.buf, " \t\r\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}
