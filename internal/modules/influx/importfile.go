package influx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The import format is what `influx -import` reads, and what snapshots
// hold: a "# DDL" section of InfluxQL statements, one per line, then a
// "# DML" section of line-protocol points (nanosecond timestamps), with
// "# CONTEXT-DATABASE: name" and "# CONTEXT-RETENTION-POLICY: name"
// comments naming where the following points go. Other "#" lines and blank
// lines are comments. A point's string field may span lines.
//
// Snapshots end with an endMarker line giving the number of points, so a
// cut-off snapshot is recognised before anything is dropped.

const (
	ddlHeader  = "# DDL"
	dmlHeader  = "# DML"
	ctxDB      = "# CONTEXT-DATABASE:"
	ctxRP      = "# CONTEXT-RETENTION-POLICY:"
	endMarker  = "# END OF DYSNOMIA SNAPSHOT:"
	endSuffix  = " points"
	maxLineLen = 64 << 20
)

type recordKind int

const (
	statement recordKind = iota + 1 // a DDL statement
	point                           // a line-protocol point
)

// record is one statement or point of an import file.
type record struct {
	kind   recordKind
	text   []byte // without the line break; valid until the next call of next
	line   int    // where it starts
	db, rp string // the point's context ("" when none was given)
}

// importReader reads an import file record by record.
type importReader struct {
	br      *bufio.Reader
	line    int
	section recordKind // 0 before any header
	db, rp  string
	points  int64
	end     int64 // the count of the end marker; -1 while none was read
	buf     []byte
}

func newImportReader(r io.Reader) *importReader {
	return &importReader{br: bufio.NewReaderSize(r, 1<<20), end: -1}
}

// next returns the next record, or io.EOF at the end of the input.
func (r *importReader) next() (record, error) {
	for {
		start := r.line + 1
		text, err := r.readLine()
		if err == io.EOF && text == nil {
			return record{}, io.EOF
		}
		if err != nil && err != io.EOF {
			return record{}, fmt.Errorf("line %d: %w", start, err)
		}
		trimmed := bytes.TrimSpace(text)
		if r.end >= 0 && len(trimmed) > 0 {
			return record{}, fmt.Errorf("line %d: data after the end marker", start)
		}
		switch {
		case len(trimmed) == 0:
			continue
		case trimmed[0] == '#':
			if err := r.comment(string(trimmed), start); err != nil {
				return record{}, err
			}
			continue
		case r.section == 0:
			return record{}, fmt.Errorf("line %d: %q is neither in a %q nor in a %q section", start, truncate(string(trimmed), 60), ddlHeader, dmlHeader)
		case r.section == statement:
			return record{kind: statement, text: trimmed, line: start}, nil
		}
		r.points++
		return record{kind: point, text: bytes.TrimRight(text, "\r"), line: start, db: r.db, rp: r.rp}, nil
	}
}

// comment handles a "#" line.
func (r *importReader) comment(c string, line int) error {
	switch {
	case c == ddlHeader:
		r.section = statement
	case c == dmlHeader:
		r.section = point
	case strings.HasPrefix(c, ctxDB):
		r.db = strings.TrimSpace(strings.TrimPrefix(c, ctxDB))
	case strings.HasPrefix(c, ctxRP):
		r.rp = strings.TrimSpace(strings.TrimPrefix(c, ctxRP))
	case strings.HasPrefix(c, endMarker):
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(c, endMarker)), endSuffix), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("line %d: malformed end marker %q", line, c)
		}
		if n != r.points {
			return fmt.Errorf("line %d: the end marker counts %d points, but %d came before it", line, n, r.points)
		}
		r.end = n
	}
	return nil
}

// complete checks, after io.EOF, that the input ended with its end marker.
func (r *importReader) complete() error {
	if r.end < 0 {
		return errors.New("no end marker: the dump is cut off")
	}
	return nil
}

// readLine reads one line without its "\n". In the DML section a line
// break inside a quoted string field belongs to the point.
func (r *importReader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	var sc pointScanner
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			r.buf = append(r.buf, chunk...)
			if len(r.buf) > maxLineLen {
				return nil, fmt.Errorf("line longer than %d bytes", maxLineLen)
			}
			continue
		}
		if len(chunk) == 0 && err == io.EOF {
			if len(r.buf) == 0 {
				return nil, io.EOF
			}
			return r.buf, nil
		}
		r.buf = append(r.buf, chunk...)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF {
			r.line++
			return r.buf, nil
		}
		r.line++
		body := r.buf[:len(r.buf)-1]
		if r.section != point || len(bytes.TrimSpace(body)) == 0 || bytes.TrimSpace(body)[0] == '#' {
			return body, nil
		}
		if !sc.inString(r.buf[sc.pos:]) {
			return body, nil
		}
		sc.pos = len(r.buf)
	}
}

// pointScanner follows a line-protocol point far enough to know whether a
// line break falls inside a quoted string field value.
type pointScanner struct {
	pos     int  // bytes of the point scanned so far
	state   int  // 0 key, 1 field key, 2 field value, 3 timestamp
	start   bool // at the first byte of a field value
	quoted  bool
	escaped bool
}

// inString scans b and reports whether the scan ends inside a string.
func (s *pointScanner) inString(b []byte) bool {
	for _, c := range b {
		if s.escaped {
			s.escaped = false
			s.start = false
			continue
		}
		if s.quoted {
			switch c {
			case '\\':
				s.escaped = true
			case '"':
				s.quoted = false
			}
			continue
		}
		switch s.state {
		case 0: // measurement and tags
			switch c {
			case '\\':
				s.escaped = true
			case ' ':
				s.state = 1
			}
		case 1: // field key
			switch c {
			case '\\':
				s.escaped = true
			case '=':
				s.state, s.start = 2, true
			}
		case 2: // field value
			switch {
			case s.start && c == '"':
				s.quoted = true
			case c == ',':
				s.state = 1
			case c == ' ':
				s.state = 3
			}
			s.start = false
		}
	}
	return s.quoted
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
