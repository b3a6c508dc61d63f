package remote

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A session is what `snapshots send` writes and `snapshots receive` reads:
//
//	"dysnomia-streams 1 <count> <bytes>\n"   count of streams, and the payload
//	                                         bytes they carry (for progress)
//	stream…                                  count streams, each:
//	  chunk…                                 a 4-byte big-endian length n
//	                                         (1 ≤ n ≤ maxChunk) and n bytes
//	  0x00000000                             the end of the stream
//
// Each stream is one snapshot stream of package transfer. A session cut
// anywhere ends in the middle of a stream (or between two), never in
// something that looks complete: a stream is complete with its end marker,
// and then also has to be a complete, verifying snapshot stream. (A stream
// whose archive arrived whole, cut only in its end marker, is installed
// too: transfer.Import takes a complete, verified archive.)
const sessionMagic = "dysnomia-streams 1"

const maxChunk = 1 << 20

// SessionHeader is the first line of a session.
type SessionHeader struct {
	Streams int
	Bytes   int64
}

func writeHeader(w io.Writer, h SessionHeader) error {
	_, err := fmt.Fprintf(w, "%s %d %d\n", sessionMagic, h.Streams, h.Bytes)
	return err
}

func readHeader(r *bufio.Reader) (SessionHeader, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if line == "" && errors.Is(err, io.EOF) {
			return SessionHeader{}, errors.New("no snapshot session: the input is empty")
		}
		return SessionHeader{}, fmt.Errorf("no snapshot session: %w", err)
	}
	f := strings.Fields(strings.TrimSuffix(line, "\n"))
	if len(f) != 4 || f[0]+" "+f[1] != sessionMagic {
		return SessionHeader{}, fmt.Errorf("not a snapshot session of a known version: it starts with %q", truncate(line, 40))
	}
	n, err1 := strconv.Atoi(f[2])
	b, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || n < 0 || b < 0 {
		return SessionHeader{}, fmt.Errorf("malformed session header %q", truncate(line, 80))
	}
	return SessionHeader{Streams: n, Bytes: b}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// frameWriter frames one stream: its writes are buffered into chunks, and
// Close writes the end marker. Without Close the stream stays incomplete.
type frameWriter struct {
	w   io.Writer
	buf []byte
	n   int64 // bytes written to w, framing included
}

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: w, buf: make([]byte, 4, 4+maxChunk)}
}

func (f *frameWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		room := 4 + maxChunk - len(f.buf)
		k := min(room, len(p))
		f.buf = append(f.buf, p[:k]...)
		p = p[k:]
		written += k
		if len(f.buf) == 4+maxChunk {
			if err := f.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (f *frameWriter) flush() error {
	if len(f.buf) == 4 {
		return nil
	}
	binary.BigEndian.PutUint32(f.buf[:4], uint32(len(f.buf)-4))
	n, err := f.w.Write(f.buf)
	f.n += int64(n)
	f.buf = f.buf[:4]
	return err
}

// Close flushes the last chunk and writes the end marker.
func (f *frameWriter) Close() error {
	if err := f.flush(); err != nil {
		return err
	}
	n, err := f.w.Write([]byte{0, 0, 0, 0})
	f.n += int64(n)
	return err
}

// frameReader reads one framed stream: io.EOF at its end marker,
// io.ErrUnexpectedEOF when the input ends before it.
type frameReader struct {
	r    io.Reader
	left uint32 // bytes left in the current chunk
	done bool
	err  error
	// reached, when set, is closed once the end marker has been read:
	// the stream will not read r any more.
	reached chan struct{}
	// gate, when set, is called before the end of the stream, or an
	// error, is first reported; its error replaces the end. Receive uses
	// it to hold a stream's installation back until the one before it is
	// installed (Import installs after it has read an end or an error).
	gate func() error
}

// errBetween is returned by next when the input ends cleanly between two
// streams.
var errBetween = errors.New("end of session")

// start reads the first chunk header of a stream. It returns errBetween when
// the input ends there.
func (f *frameReader) start() error {
	var hdr [4]byte
	n, err := io.ReadFull(f.r, hdr[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return errBetween
	}
	if err != nil {
		return fmt.Errorf("session cut between streams: %w", io.ErrUnexpectedEOF)
	}
	return f.header(hdr)
}

func (f *frameReader) header(hdr [4]byte) error {
	size := binary.BigEndian.Uint32(hdr[:])
	if size > maxChunk {
		return fmt.Errorf("malformed session: a chunk of %d bytes (at most %d)", size, maxChunk)
	}
	if size == 0 {
		f.done = true
		if f.reached != nil {
			close(f.reached)
		}
	}
	f.left = size
	return nil
}

// Read reads the stream. The first time it reports the end, or any error,
// it first passes the gate.
func (f *frameReader) Read(p []byte) (int, error) {
	n, err := f.read(p)
	if err != nil && f.gate != nil {
		gate := f.gate
		f.gate = nil
		if gerr := gate(); gerr != nil && errors.Is(err, io.EOF) {
			f.err = gerr
			err = gerr
		}
	}
	return n, err
}

func (f *frameReader) read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.done {
		return 0, io.EOF
	}
	if f.left == 0 {
		var hdr [4]byte
		if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
			f.err = io.ErrUnexpectedEOF
			return 0, f.err
		}
		if err := f.header(hdr); err != nil {
			f.err = err
			return 0, err
		}
		if f.done {
			return 0, io.EOF
		}
	}
	if uint32(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= uint32(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if n > 0 {
			f.err = err
			return n, nil
		}
		f.err = err
		return 0, err
	}
	return n, nil
}

// drain reads the rest of the stream (after a consumer stopped early).
func (f *frameReader) drain() error {
	_, err := io.Copy(io.Discard, f)
	return err
}
