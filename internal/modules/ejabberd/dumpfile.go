package ejabberd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A text dump, as `ejabberdctl dump` writes it (mnesia's text format), is
// a sequence of Erlang terms, each ending with a full stop: first
// {tables, [{Table, [{record_name, R}, {attributes, [...]}]}, ...]}, then
// one {Table, ...} tuple per record. The node writes tables and records in
// whatever order its tables iterate, and pretty-prints them over several
// lines; the canonical form written here has every term on one line without
// the layout's whitespace, the table definitions sorted, then the records
// sorted, and a final comment counting them, so that the same data gives
// the same bytes and a cut-off dump is recognised. Erlang's reader (which
// `ejabberdctl load` uses) takes it as it is.

const (
	dumpHeader = "% ejabberd-dump snapshot (dysnomia): load it with ejabberdctl load FILE"
	endMarker  = "% end of dump:"
	endSuffix  = " records"
	maxTerm    = 64 << 20
)

// dump is a parsed text dump.
type dump struct {
	tables  map[string]string // table name -> its canonical definition
	records []string          // canonical record terms, without the full stop
	marked  bool              // the input ended with our end marker
	ours    bool              // the input starts with our header line
}

// parseDump reads a text dump completely.
func parseDump(r io.Reader) (*dump, error) {
	sc := &termScanner{br: bufio.NewReaderSize(r, 1<<20), line: 1}
	d := &dump{tables: map[string]string{}}
	first := true
	for {
		term, line, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if sc.marker >= 0 {
			return nil, fmt.Errorf("line %d: data after the end marker", line)
		}
		if first {
			if err := d.header(term); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			first = false
			continue
		}
		name, err := firstElement(term)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if _, ok := d.tables[name]; !ok {
			return nil, fmt.Errorf("line %d: a record of table %s, which the dump does not define", line, name)
		}
		d.records = append(d.records, term)
	}
	if first {
		return nil, errors.New("empty dump: no {tables, …} term")
	}
	if sc.marker >= 0 {
		if sc.marker != len(d.records) {
			return nil, fmt.Errorf("the end marker counts %d records, but the dump holds %d", sc.marker, len(d.records))
		}
		d.marked = true
	}
	d.ours = sc.ours
	if d.ours && !d.marked {
		return nil, errors.New("no end marker: the dump is cut off")
	}
	return d, nil
}

// header takes the {tables, [...]} term.
func (d *dump) header(term string) error {
	inner, ok := strings.CutPrefix(term, "{tables,[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]}")
	}
	if !ok {
		return fmt.Errorf("the dump does not start with {tables, [...]}: %s", truncate(term, 80))
	}
	defs, err := splitTop(inner)
	if err != nil {
		return err
	}
	for _, def := range defs {
		if !strings.HasPrefix(def, "{") {
			return fmt.Errorf("table definition %s is not a tuple", truncate(def, 80))
		}
		name, err := firstElement(def)
		if err != nil {
			return err
		}
		if old, dup := d.tables[name]; dup && old != def {
			return fmt.Errorf("table %s is defined twice, differently", name)
		}
		d.tables[name] = def
	}
	return nil
}

// merge adds the tables and records of o; a table defined differently is
// an error.
func (d *dump) merge(o *dump) error {
	for name, def := range o.tables {
		if old, ok := d.tables[name]; ok && old != def {
			return fmt.Errorf("table %s is defined differently: %s and %s", name, truncate(old, 80), truncate(def, 80))
		}
		d.tables[name] = def
	}
	d.records = append(d.records, o.records...)
	return nil
}

// write writes the canonical form.
func (d *dump) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	names := make([]string, 0, len(d.tables))
	for n := range d.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	defs := make([]string, len(names))
	for i, n := range names {
		defs[i] = d.tables[n]
	}
	records := append([]string(nil), d.records...)
	sort.Strings(records)
	// Records with the same key in a set table collapse into one on load;
	// identical lines say nothing more.
	records = compactStrings(records)
	fmt.Fprintf(bw, "%s\n{tables,[%s]}.\n", dumpHeader, strings.Join(defs, ","))
	for _, r := range records {
		bw.WriteString(r)
		bw.WriteString(".\n")
	}
	fmt.Fprintf(bw, "%s %d%s\n", endMarker, len(records), endSuffix)
	return bw.Flush()
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// termScanner reads Erlang terms, dropping whitespace and comments outside
// quotes.
type termScanner struct {
	br     *bufio.Reader
	line   int
	marker int  // the count of an end marker comment; -1 when none was read
	ours   bool // our header line came before the first term
	terms  int
	buf    []byte
	init   bool
}

// next returns the next term in canonical form (without its full stop) and
// the line it starts on, or io.EOF after the last one.
func (s *termScanner) next() (string, int, error) {
	if !s.init {
		s.marker, s.init = -1, true
	}
	s.buf = s.buf[:0]
	depth := 0
	start := 0
	for {
		c, err := s.br.ReadByte()
		if err == io.EOF {
			if len(s.buf) == 0 {
				return "", 0, io.EOF
			}
			return "", 0, fmt.Errorf("line %d: the dump ends inside a term (cut off?)", start)
		}
		if err != nil {
			return "", 0, err
		}
		if len(s.buf) > maxTerm {
			return "", 0, fmt.Errorf("line %d: a term longer than %d bytes", start, maxTerm)
		}
		switch c {
		case '\n':
			s.line++
			continue
		case ' ', '\t', '\r', '\f', '\v':
			continue
		case '%':
			if err := s.comment(len(s.buf) == 0); err != nil {
				return "", 0, err
			}
			continue
		}
		if len(s.buf) == 0 {
			start = s.line
		}
		switch c {
		case '"', '\'':
			if err := s.quoted(c); err != nil {
				return "", 0, fmt.Errorf("line %d: %w", start, err)
			}
			continue
		case '$':
			s.buf = append(s.buf, c)
			if err := s.char(); err != nil {
				return "", 0, fmt.Errorf("line %d: %w", start, err)
			}
			continue
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
		case '<':
			if b, _ := s.br.Peek(1); len(b) == 1 && b[0] == '<' {
				s.br.ReadByte()
				s.buf = append(s.buf, '<')
				depth++
			}
		case '>':
			if b, _ := s.br.Peek(1); len(b) == 1 && b[0] == '>' {
				s.br.ReadByte()
				s.buf = append(s.buf, '>')
				depth--
			}
		case '.':
			b, _ := s.br.Peek(1)
			if depth == 0 && (len(b) == 0 || b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r' || b[0] == '%') {
				if len(s.buf) == 0 {
					return "", 0, fmt.Errorf("line %d: an empty term", start)
				}
				s.terms++
				return string(s.buf), start, nil
			}
		}
		if depth < 0 {
			return "", 0, fmt.Errorf("line %d: unbalanced %q", s.line, c)
		}
		s.buf = append(s.buf, c)
	}
}

// comment skips a comment to the end of its line; one between terms may be
// the end marker.
func (s *termScanner) comment(between bool) error {
	text, err := s.br.ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	if strings.HasSuffix(text, "\n") {
		s.line++
	}
	c := "%" + strings.TrimRight(text, "\r\n")
	if between && s.terms == 0 && c == dumpHeader {
		s.ours = true
	}
	if between && strings.HasPrefix(c, endMarker) {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(c, endMarker)), endSuffix))
		if err != nil || n < 0 {
			return fmt.Errorf("line %d: malformed end marker %q", s.line-1, c)
		}
		s.marker = n
	}
	return nil
}

// quoted copies a string or quoted atom, escapes included.
func (s *termScanner) quoted(q byte) error {
	s.buf = append(s.buf, q)
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return errors.New("the dump ends inside a quoted string or atom (cut off?)")
		}
		if c == '\n' {
			s.line++
		}
		s.buf = append(s.buf, c)
		switch c {
		case '\\':
			e, err := s.br.ReadByte()
			if err != nil {
				return errors.New("the dump ends inside an escape")
			}
			if e == '\n' {
				s.line++
			}
			s.buf = append(s.buf, e)
		case q:
			return nil
		}
	}
}

// char copies the character of a $c literal.
func (s *termScanner) char() error {
	c, err := s.br.ReadByte()
	if err != nil {
		return errors.New("the dump ends inside a character literal")
	}
	s.buf = append(s.buf, c)
	if c != '\\' {
		return nil
	}
	e, err := s.br.ReadByte()
	if err != nil {
		return errors.New("the dump ends inside a character literal")
	}
	s.buf = append(s.buf, e)
	switch {
	case e == 'x':
		if b, _ := s.br.Peek(1); len(b) == 1 && b[0] == '{' {
			for {
				x, err := s.br.ReadByte()
				if err != nil {
					return errors.New("the dump ends inside a character literal")
				}
				s.buf = append(s.buf, x)
				if x == '}' {
					break
				}
			}
		} else {
			for i := 0; i < 2; i++ {
				if b, _ := s.br.Peek(1); len(b) == 1 && isHex(b[0]) {
					s.br.ReadByte()
					s.buf = append(s.buf, b[0])
				}
			}
		}
	case e >= '0' && e <= '7':
		for i := 0; i < 2; i++ {
			if b, _ := s.br.Peek(1); len(b) == 1 && b[0] >= '0' && b[0] <= '7' {
				s.br.ReadByte()
				s.buf = append(s.buf, b[0])
			}
		}
	case e == '^':
		x, err := s.br.ReadByte()
		if err != nil {
			return errors.New("the dump ends inside a character literal")
		}
		s.buf = append(s.buf, x)
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// splitTop splits canonical text at the commas outside brackets and
// quotes.
func splitTop(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			j, err := skipQuoted(s, i)
			if err != nil {
				return nil, err
			}
			i = j
		case '$':
			i = skipChar(s, i)
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
		case '<':
			if i+1 < len(s) && s[i+1] == '<' {
				depth++
				i++
			}
		case '>':
			if i+1 < len(s) && s[i+1] == '>' {
				depth--
				i++
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced brackets")
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	} else if len(parts) > 0 {
		return nil, errors.New("a trailing comma")
	}
	return parts, nil
}

// skipQuoted returns the index of the quote closing the one at i.
func skipQuoted(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j, nil
		}
	}
	return 0, errors.New("unterminated quote")
}

// skipChar returns the index of the last byte of the $c literal at i (a
// rough cut: enough to step over $, and $" and $\\ in scanned text).
func skipChar(s string, i int) int {
	if i+1 < len(s) && s[i+1] == '\\' {
		return min(i+2, len(s)-1)
	}
	return min(i+1, len(s)-1)
}

// firstElement is the first element of a tuple term, e.g. the table of a
// record.
func firstElement(term string) (string, error) {
	if !strings.HasPrefix(term, "{") || !strings.HasSuffix(term, "}") {
		return "", fmt.Errorf("not a tuple: %s", truncate(term, 80))
	}
	parts, err := splitTop(term[1 : len(term)-1])
	if err != nil {
		return "", fmt.Errorf("%w in %s", err, truncate(term, 80))
	}
	if len(parts) < 1 || parts[0] == "" {
		return "", fmt.Errorf("an empty tuple: %s", truncate(term, 80))
	}
	return parts[0], nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
