package ejabberd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

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
