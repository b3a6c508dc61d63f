package postgresql

import (
	"bytes"
	"fmt"
	"io"
)

// The head of a pg_dump custom-format archive (pg_backup_archiver.c,
// WriteHead): "PGDMP", version major/minor/revision, int size, offset
// size, format; then the compression (one int before archive version 1.15,
// one byte from 1.15 on); then the creation time as seven ints (tm_sec,
// tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_isdst). An int is a sign
// byte followed by intSize little-endian bytes.
//
// The creation time is the only part of an archive of an unchanged database
// that changes from one dump to the next. normalizer rewrites it to a fixed
// time, 2000-01-01 00:00:00, so that equal data gives equal bytes and so the
// same snapshot id. pg_restore reads the fixed time like any other (it only
// prints it in the archive listing).
var fixedTime = [7]int{0, 0, 0, 1, 0, 100, 0}

const magic = "PGDMP"

// normalizer passes a custom-format archive through to w with the creation
// time in its head replaced by fixedTime.
type normalizer struct {
	w    io.Writer
	head []byte
	done bool
	n    int64 // bytes written through
}

func (z *normalizer) Write(p []byte) (int, error) {
	if z.done {
		n, err := z.w.Write(p)
		z.n += int64(n)
		return n, err
	}
	z.head = append(z.head, p...)
	need, err := headLen(z.head)
	if err != nil {
		return 0, err
	}
	if need < 0 || len(z.head) < need {
		return len(p), nil
	}
	if err := fixHead(z.head); err != nil {
		return 0, err
	}
	z.done = true
	n, err := z.w.Write(z.head)
	z.n += int64(n)
	z.head = nil
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close reports an archive too short to have a complete head.
func (z *normalizer) Close() error {
	if !z.done {
		if len(z.head) == 0 {
			return fmt.Errorf("pg_dump wrote nothing")
		}
		return fmt.Errorf("pg_dump output ends inside the archive header (%d bytes)", len(z.head))
	}
	return nil
}

// headLen returns how many bytes of head hold everything up to the end of
// the creation time, or -1 if that is not known yet.
func headLen(h []byte) (int, error) {
	if len(h) < len(magic) {
		if !bytes.HasPrefix([]byte(magic), h) {
			return 0, fmt.Errorf("pg_dump output is not a custom-format archive")
		}
		return -1, nil
	}
	if string(h[:len(magic)]) != magic {
		return 0, fmt.Errorf("pg_dump output is not a custom-format archive")
	}
	if len(h) < 11 {
		return -1, nil
	}
	vmaj, vmin, intSize := h[5], h[6], int(h[8])
	if vmaj != 1 || vmin < 4 {
		return 0, fmt.Errorf("unsupported archive version %d.%d", vmaj, vmin)
	}
	if intSize < 1 || intSize > 8 {
		return 0, fmt.Errorf("archive has an invalid int size %d", intSize)
	}
	off := 11
	if vmin >= 15 {
		off++ // compression algorithm, one byte
	} else {
		off += 1 + intSize // compression level, one int
	}
	return off + 7*(1+intSize), nil
}

// fixHead overwrites the creation time in a complete head.
func fixHead(h []byte) error {
	end, err := headLen(h)
	if err != nil {
		return err
	}
	intSize := int(h[8])
	off := end - 7*(1+intSize)
	for _, v := range fixedTime {
		h[off] = 0 // sign: non-negative
		for i := 0; i < intSize; i++ {
			h[off+1+i] = byte(v >> (8 * i))
		}
		off += 1 + intSize
	}
	return nil
}
