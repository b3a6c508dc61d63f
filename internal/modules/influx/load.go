package influx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Batches of points written in one request.
const (
	batchPoints = 5000
	batchBytes  = 4 << 20
)

// source is one import file: an init file of the component, or a
// snapshot's dump.
type source struct {
	name     string // for messages: the file, or the snapshot
	open     func() (io.ReadCloser, error)
	snapshot bool // a snapshot: must end with its end marker
}

// check reads src completely without touching the server: every line must
// be a statement, a point or a comment, every point's context database
// must be db (or unset), a CREATE DATABASE statement must name db, and a
// snapshot must end with its end marker. It returns the number of points.
func check(src source, db string) (int64, error) {
	r, err := src.open()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", src.name, err)
	}
	defer r.Close()
	ir := newImportReader(r)
	for {
		rec, err := ir.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", src.name, err)
		}
		if err := checkRecord(rec, db); err != nil {
			return 0, fmt.Errorf("%s: line %d: %w", src.name, rec.line, err)
		}
	}
	if src.snapshot {
		if err := ir.complete(); err != nil {
			return 0, fmt.Errorf("%s: %w", src.name, err)
		}
	}
	return ir.points, nil
}

func checkRecord(rec record, db string) error {
	switch rec.kind {
	case point:
		if rec.db != "" && rec.db != db {
			return fmt.Errorf("points for database %q, but the component's database is %q", rec.db, db)
		}
	case statement:
		if name, ok := createdDatabase(string(rec.text)); ok && name != db {
			return fmt.Errorf("%q creates database %q, but the component's database is %q", truncate(string(rec.text), 80), name, db)
		}
	}
	return nil
}

// load runs src's statements and writes its points into db; points go to
// their context's retention policy (the default one when unset).
func load(ctx context.Context, c *client, src source, db string) error {
	r, err := src.open()
	if err != nil {
		return fmt.Errorf("%s: %w", src.name, err)
	}
	defer r.Close()
	ir := newImportReader(r)
	var (
		batch     bytes.Buffer
		n         int
		rp        string
		firstLine int
		lastLine  int
	)
	flush := func() error {
		if n == 0 {
			return nil
		}
		if err := c.write(ctx, db, rp, batch.Bytes()); err != nil {
			return fmt.Errorf("%s: lines %d-%d: write points: %w", src.name, firstLine, lastLine, err)
		}
		batch.Reset()
		n = 0
		return nil
	}
	for {
		rec, err := ir.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src.name, err)
		}
		if err := checkRecord(rec, db); err != nil {
			return fmt.Errorf("%s: line %d: %w", src.name, rec.line, err)
		}
		switch rec.kind {
		case statement:
			if err := flush(); err != nil {
				return err
			}
			if err := c.exec(ctx, string(rec.text)); err != nil {
				return fmt.Errorf("%s: line %d: %w", src.name, rec.line, err)
			}
		case point:
			if n > 0 && (rec.rp != rp || n >= batchPoints || batch.Len() >= batchBytes) {
				if err := flush(); err != nil {
					return err
				}
			}
			if n == 0 {
				rp, firstLine = rec.rp, rec.line
			}
			batch.Write(rec.text)
			batch.WriteByte('\n')
			n++
			lastLine = rec.line
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if src.snapshot {
		if err := ir.complete(); err != nil {
			return fmt.Errorf("%s: %w", src.name, err)
		}
	}
	return nil
}

// createdDatabase returns the database a CREATE DATABASE statement names.
func createdDatabase(stmt string) (string, bool) {
	fields := strings.Fields(stmt)
	if len(fields) < 3 || !strings.EqualFold(fields[0], "CREATE") || !strings.EqualFold(fields[1], "DATABASE") {
		return "", false
	}
	rest := strings.TrimLeftFunc(stmt[strings.Index(strings.ToUpper(stmt), "DATABASE")+len("DATABASE"):], unicode.IsSpace)
	name, err := parseIdent(rest)
	if err != nil {
		return rest, true // not a name we understand: reported as a mismatch
	}
	return name, true
}

// parseIdent reads an InfluxQL identifier at the start of s: a bare one
// (letters, digits, underscores) or a double-quoted one with backslash
// escapes.
func parseIdent(s string) (string, error) {
	if s == "" {
		return "", errors.New("no identifier")
	}
	if s[0] != '"' {
		end := strings.IndexFunc(s, func(r rune) bool { return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') })
		if end == 0 {
			return "", errors.New("no identifier")
		}
		if end < 0 {
			end = len(s)
		}
		return s[:end], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				if s[i] == 'n' {
					b.WriteByte('\n')
				} else {
					b.WriteByte(s[i])
				}
			}
		case '"':
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated identifier")
}
