package sqlite

import (
	"strings"
)

// statement is one SQL statement of an init script.
type statement struct {
	Text string // from its first token to its terminating ';' (if any)
	Line int    // 1-based line of its first token
}

// splitStatements cuts an SQL script into statements the way SQLite decides
// that a statement is complete: a ';' outside string literals, quoted
// identifiers and comments ends a statement, except inside the body of a
// CREATE TRIGGER, which ends at "END" followed by ';'. Statements holding
// nothing but comments are dropped. Text after the last ';' is a final
// statement, so that SQLite reports what is wrong with it.
func splitStatements(src string) []statement {
	var (
		out   []statement
		start = -1 // offset of the current statement's first token
		line  = 1
		first int // its line
		words []string
		// trigger body state: semi is set by ';', end by "END" right after it.
		semi, end bool
	)
	finish := func(stop int) {
		if start >= 0 {
			out = append(out, statement{Text: src[start:stop], Line: first})
		}
		start, words, semi, end = -1, words[:0], false, false
	}
	begin := func(i int) {
		if start < 0 {
			start, first = i, line
		}
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := strings.Index(src[i+2:], "*/")
			stop := len(src)
			if j >= 0 {
				stop = i + 2 + j + 2
			}
			line += strings.Count(src[i:stop], "\n")
			i = stop
		case c == ';':
			i++
			if start < 0 { // an empty statement
				continue
			}
			if !inTrigger(words) || end {
				finish(i)
				continue
			}
			semi, end = true, false
		case c == '\'' || c == '"' || c == '`' || c == '[':
			begin(i)
			closer := c
			if c == '[' {
				closer = ']'
			}
			j := i + 1
			for j < len(src) {
				if src[j] == closer {
					// A doubled quote is an escaped quote (not for [...]).
					if closer != ']' && j+1 < len(src) && src[j+1] == closer {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j < len(src) {
				j++
			}
			line += strings.Count(src[i:j], "\n")
			i = j
			semi, end = false, false
			words = append(words, "")
		case isWordByte(c):
			begin(i)
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			w := strings.ToUpper(src[i:j])
			end = semi && w == "END"
			semi = false
			words = append(words, w)
			i = j
		default:
			begin(i)
			semi, end = false, false
			words = append(words, string(c))
			i++
		}
	}
	finish(len(src))
	return out
}

// inTrigger reports whether a statement that starts with words is a CREATE
// TRIGGER, whose body holds statements of its own.
func inTrigger(words []string) bool {
	w := words
	if len(w) > 0 && w[0] == "EXPLAIN" {
		w = w[1:]
	}
	if len(w) == 0 || w[0] != "CREATE" {
		return false
	}
	w = w[1:]
	if len(w) > 0 && (w[0] == "TEMP" || w[0] == "TEMPORARY") {
		w = w[1:]
	}
	return len(w) > 0 && w[0] == "TRIGGER"
}

// isWordByte reports whether c can be part of an SQL keyword or unquoted
// identifier (bytes of multi-byte UTF-8 characters included).
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// transactionControl classifies a statement that begins or ends a
// transaction. Init scripts run inside one transaction of their own, so a
// script's BEGIN and COMMIT (as in the output of sqlite3's .dump) are
// skipped; a ROLLBACK cannot be honoured and is an error.
func transactionControl(s statement) (skip, rollback bool) {
	w := firstWord(s.Text)
	switch w {
	case "BEGIN", "COMMIT", "END":
		return true, false
	case "ROLLBACK":
		// ROLLBACK TO [SAVEPOINT] x only undoes to a savepoint: allowed.
		rest := strings.ToUpper(strings.TrimSpace(s.Text[len(w):]))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, "TRANSACTION"))
		return false, !strings.HasPrefix(rest, "TO")
	}
	return false, false
}

func firstWord(text string) string {
	j := 0
	for j < len(text) && isWordByte(text[j]) {
		j++
	}
	return strings.ToUpper(text[:j])
}

// excerpt shortens a statement for an error message: its first line, at
// most 60 bytes.
func excerpt(text string) string {
	s := text
	cut := false
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s, cut = s[:i], true
	}
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s, cut = s[:60], true
		for len(s) > 0 && s[len(s)-1] >= 0x80 { // do not cut a UTF-8 character
			s = s[:len(s)-1]
		}
	}
	if cut {
		s += " …"
	}
	return s
}
