package postgresql

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// A custom-format archive written without compression holds each table's
// data as a sequence of chunks, one per row as pg_dump received it: a
// length, then the bytes. pg_restore hands every chunk to the server on its
// own, so a table of millions of short rows costs it millions of steps.
// rechunk copies an archive with the chunks of each data block merged into
// chunks of up to mergedChunk bytes: the same bytes in the same order, in
// far fewer steps (pg_restore passes COPY data through whatever its chunk
// boundaries). The header, the table of contents and large-object blocks
// are copied unchanged. Archives of a version it does not know, or with
// anything it does not expect, are copied unchanged from that point on.
// Snapshots keep pg_dump's chunks; restore merges them on the way to
// pg_restore, so older snapshots profit too.

// The archive versions whose table of contents rechunk can read: 1.12
// (PostgreSQL 11) to 1.15 (PostgreSQL 16).
const (
	rechunkMinVersion = 12
	rechunkMaxVersion = 15
	mergedChunk       = 256 << 10
)

// Block types (pg_backup_custom.c).
const (
	blkData  = 1
	blkBlobs = 3
)

// rechunk copies an archive from r to w, merging data chunks.
func rechunk(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	a := &archiveReader{r: bufio.NewReaderSize(r, 1<<20), w: bw}
	err := a.run()
	if errors.Is(err, errPassThrough) {
		_, err = io.Copy(bw, a.r)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

var errPassThrough = errors.New("copy the rest as it is")

// archiveReader reads an archive and writes what it read (pass) or what it
// rewrote.
type archiveReader struct {
	r       *bufio.Reader
	w       *bufio.Writer
	intSize int
	offSize int
	version int // minor version: 1.x
	buf     []byte
	scratch [9]byte
}

// pass reads n bytes and copies them.
func (a *archiveReader) pass(n int) ([]byte, error) {
	if cap(a.buf) < n {
		a.buf = make([]byte, n)
	}
	b := a.buf[:n]
	if _, err := io.ReadFull(a.r, b); err != nil {
		return nil, err
	}
	_, err := a.w.Write(b)
	return b, err
}

func (a *archiveReader) passByte() (byte, error) {
	b, err := a.pass(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// readInt reads an int (a sign byte, then intSize little-endian bytes)
// without copying it.
func (a *archiveReader) readInt() (int64, error) {
	b := a.scratch[:1+a.intSize]
	if _, err := io.ReadFull(a.r, b); err != nil {
		return 0, err
	}
	return decodeInt(b, a.intSize)
}

func decodeInt(b []byte, intSize int) (int64, error) {
	var v uint64
	for i := intSize - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[1+i])
	}
	if intSize >= 8 && v>>62 != 0 {
		return 0, fmt.Errorf("archive int out of range")
	}
	n := int64(v)
	if b[0] != 0 {
		n = -n
	}
	return n, nil
}

// passInt reads an int and copies it.
func (a *archiveReader) passInt() (int64, error) {
	b, err := a.pass(1 + a.intSize)
	if err != nil {
		return 0, err
	}
	return decodeInt(b, a.intSize)
}

func (a *archiveReader) writeInt(n int64) error {
	b := a.scratch[:1+a.intSize]
	b[0] = 0
	for i := 0; i < a.intSize; i++ {
		b[1+i] = byte(n >> (8 * i))
	}
	_, err := a.w.Write(b)
	return err
}

// passStr copies a string (an int length, -1 for none, then the bytes).
func (a *archiveReader) passStr() (present bool, err error) {
	n, err := a.passInt()
	if err != nil || n < 0 {
		return false, err
	}
	if n > 1<<30 {
		return false, fmt.Errorf("archive string of %d bytes", n)
	}
	_, err = a.pass(int(n))
	return true, err
}

func (a *archiveReader) run() error {
	h, err := a.pass(11)
	if err != nil {
		return err
	}
	if string(h[:5]) != magic || h[5] != 1 || h[10] != 1 { // version 1.x, custom format
		return errPassThrough
	}
	a.version, a.intSize, a.offSize = int(h[6]), int(h[8]), int(h[9])
	if a.version < rechunkMinVersion || a.version > rechunkMaxVersion || a.intSize < 1 || a.intSize > 8 || a.offSize < 1 || a.offSize > 16 {
		return errPassThrough
	}
	if a.version >= 15 {
		if _, err := a.passByte(); err != nil { // compression algorithm
			return err
		}
	} else if _, err := a.passInt(); err != nil { // compression level
		return err
	}
	for i := 0; i < 7; i++ { // creation time
		if _, err := a.passInt(); err != nil {
			return err
		}
	}
	for i := 0; i < 3; i++ { // database name, server version, pg_dump version
		if _, err := a.passStr(); err != nil {
			return err
		}
	}
	entries, err := a.passInt()
	if err != nil {
		return err
	}
	for e := int64(0); e < entries; e++ {
		if err := a.passEntry(); err != nil {
			return err
		}
	}
	for {
		t, err := a.r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if t != blkData {
			a.r.UnreadByte()
			return errPassThrough
		}
		a.w.WriteByte(t)
		if _, err := a.passInt(); err != nil { // dump id
			return err
		}
		if err := a.mergeChunks(); err != nil {
			return err
		}
	}
}

// passEntry copies one table-of-contents entry (pg_backup_archiver.c,
// ReadToc, and the custom format's extra field).
func (a *archiveReader) passEntry() error {
	for i := 0; i < 2; i++ { // dump id, had dumper
		if _, err := a.passInt(); err != nil {
			return err
		}
	}
	// table oid, oid, tag, desc
	for i := 0; i < 4; i++ {
		if _, err := a.passStr(); err != nil {
			return err
		}
	}
	if _, err := a.passInt(); err != nil { // section
		return err
	}
	// defn, drop statement, copy statement, namespace, tablespace,
	// table access method (1.14), owner, "with oids"
	n := 7
	if a.version >= 14 {
		n = 8
	}
	for i := 0; i < n; i++ {
		if _, err := a.passStr(); err != nil {
			return err
		}
	}
	for { // dependencies, ended by a missing string
		ok, err := a.passStr()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	_, err := a.pass(1 + a.offSize) // data offset: flag, then offSize bytes
	return err
}

// mergeChunks copies the chunks of a data block, to its terminating empty
// chunk, merged into chunks of up to mergedChunk bytes.
func (a *archiveReader) mergeChunks() error {
	var held []byte
	flush := func() error {
		if len(held) == 0 {
			return nil
		}
		if err := a.writeInt(int64(len(held))); err != nil {
			return err
		}
		_, err := a.w.Write(held)
		held = held[:0]
		return err
	}
	held = make([]byte, 0, mergedChunk)
	hl := 1 + a.intSize
	for {
		// Peek and Discard: millions of short chunks, read in place.
		hdr, err := a.r.Peek(hl)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		n, err := decodeInt(hdr, a.intSize)
		if err != nil {
			return err
		}
		a.r.Discard(hl)
		if n < 0 || n > 1<<30 {
			return fmt.Errorf("archive data chunk of %d bytes", n)
		}
		if n == 0 {
			if err := flush(); err != nil {
				return err
			}
			return a.writeInt(0)
		}
		if len(held)+int(n) > mergedChunk {
			if err := flush(); err != nil {
				return err
			}
		}
		if int(n) > mergedChunk {
			if err := a.writeInt(n); err != nil {
				return err
			}
			if _, err := a.pass(int(n)); err != nil {
				return err
			}
			continue
		}
		data, err := a.r.Peek(int(n)) // n <= mergedChunk < the buffer's size
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		held = append(held, data...)
		a.r.Discard(int(n))
	}
}
