package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ShellMode says what the parser does with a value that would need shell
// evaluation ($(…), `…`, $VAR, ${…}).
//
// Upstream evaluates every line of a container or properties file as shell
// code. We never run anything unless the user asks for it: by default such a
// value is an error naming the file and line.
type ShellMode int

const (
	// ShellReject makes a value needing evaluation a parse error (default).
	ShellReject ShellMode = iota
	// ShellLiteral keeps such a value as written, without the quotes.
	ShellLiteral
	// ShellEval evaluates such a value with /bin/sh, as upstream does.
	ShellEval
	// ShellTrusted evaluates such a value only in a file that no one but
	// root and the effective user can change (see Trusted); in any other
	// file, and in text that is not read from a file, it is an error.
	ShellTrusted
)

// ParseShellMode reads the value of --shell-values / DYSNOMIA_SHELL_VALUES.
func ParseShellMode(s string) (ShellMode, error) {
	switch s {
	case "", "reject":
		return ShellReject, nil
	case "literal":
		return ShellLiteral, nil
	case "eval":
		return ShellEval, nil
	case "trusted":
		return ShellTrusted, nil
	}
	return ShellReject, fmt.Errorf("unknown shell-values mode %q (want reject, literal, eval or trusted)", s)
}

// ParseError locates a problem in a container or properties file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ParseFile reads and parses a key=value file. With ShellTrusted, a file
// that needs the shell is checked with Trusted and, if it passes, read
// again from the checked path and evaluated in its directory.
func ParseFile(path string, mode ShellMode) (Properties, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if mode == ShellTrusted {
		return parseTrusted(path, data)
	}
	return Parse(path, data, mode)
}

// Parse parses the text of a container or properties file. name is used in
// error messages. The syntax is the subset of shell assignments these files
// use in practice:
//
//	# a comment
//	key=value
//	key="a value with spaces"   # a trailing comment
//	key='single quoted, $(kept) literally'
//	export key=value
//	key=("array" "of words" bare)
//
// Unquoted and single-quoted backslashes are kept literally; inside double
// quotes \" \\ \$ and \` escape the next character. Every problem in the file
// is reported, each with its line number.
func Parse(name string, data []byte, mode ShellMode) (Properties, error) {
	props, _, err := parse(&parser{name: name, src: data, line: 1, mode: mode})
	return props, err
}

// parse runs p over its text; shell reports whether any value needed the
// shell.
func parse(p *parser) (props Properties, shell bool, err error) {
	var errs []error
	for !p.eof() {
		prop, ok, err := p.statement()
		if err != nil {
			errs = append(errs, err)
			p.skipLine()
			continue
		}
		if ok {
			props.Set(prop)
		}
	}
	return props, p.shellSeen, errors.Join(errs...)
}

type parser struct {
	name string
	src  []byte
	pos  int
	line int
	mode ShellMode

	dir       string // working directory of evaluations; "" for the caller's
	untrusted error  // ShellTrusted: why the file is not evaluated
	shellSeen bool   // a value needed the shell
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

func (p *parser) errorf(line int, format string, args ...any) error {
	return &ParseError{File: p.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) advance() byte {
	c := p.src[p.pos]
	p.pos++
	if c == '\n' {
		p.line++
	}
	return c
}

func (p *parser) skipBlanks() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t' || p.peek() == '\r') {
		p.pos++
	}
}

func (p *parser) skipLine() {
	for !p.eof() {
		if p.advance() == '\n' {
			return
		}
	}
}

// endOfLine accepts optional blanks and a comment, then a newline or EOF.
func (p *parser) endOfLine() error {
	p.skipBlanks()
	if p.eof() {
		return nil
	}
	switch p.peek() {
	case '\n':
		p.advance()
		return nil
	case '#':
		p.skipLine()
		return nil
	}
	return p.errorf(p.line, "unexpected %q after the value; quote values that contain spaces or shell characters", p.rest())
}

func (p *parser) rest() string {
	end := bytes.IndexByte(p.src[p.pos:], '\n')
	if end < 0 {
		end = len(p.src) - p.pos
	}
	return strings.TrimSpace(string(p.src[p.pos : p.pos+end]))
}

// statement parses one line (or a multi-line array). ok is false for blank
// and comment lines.
func (p *parser) statement() (Property, bool, error) {
	p.skipBlanks()
	if p.eof() {
		return Property{}, false, nil
	}
	switch p.peek() {
	case '\n':
		p.advance()
		return Property{}, false, nil
	case '#':
		p.skipLine()
		return Property{}, false, nil
	}
	line := p.line
	key := p.identifier()
	if key == "export" && !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.skipBlanks()
		key = p.identifier()
	}
	if key == "" {
		return Property{}, false, p.errorf(line, "expected key=value, found %q", p.rest())
	}
	if p.eof() || p.peek() != '=' {
		p.skipBlanks()
		if !p.eof() && p.peek() == '=' {
			return Property{}, false, p.errorf(line, "no spaces allowed around '=' in %q", key+" "+p.rest())
		}
		return Property{}, false, p.errorf(line, "expected '=' after %q", key)
	}
	p.pos++ // '='
	if !p.eof() && p.peek() == '(' {
		p.pos++
		vals, err := p.array(key, line)
		if err != nil {
			return Property{}, false, err
		}
		return Property{Key: key, Values: vals, List: true}, true, p.endOfLine()
	}
	if !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		// "key= value" assigns "" in shell and runs "value": never intended.
		p.skipBlanks()
		if !p.eof() && p.peek() != '\n' && p.peek() != '#' {
			return Property{}, false, p.errorf(line, "space after '=' in %q; write %s=\"…\"", key, key)
		}
	}
	val, err := p.word(key)
	if err != nil {
		return Property{}, false, err
	}
	return Property{Key: key, Values: []string{val}}, true, p.endOfLine()
}

func (p *parser) identifier() string {
	start := p.pos
	for !p.eof() {
		c := p.peek()
		if c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (p.pos > start && '0' <= c && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	return string(p.src[start:p.pos])
}

// array parses the elements up to the closing parenthesis. Elements are
// separated by blanks or newlines; comments may follow any element.
func (p *parser) array(key string, line int) ([]string, error) {
	vals := []string{}
	for {
		for !p.eof() && strings.IndexByte(" \t\r\n", p.peek()) >= 0 {
			p.advance()
		}
		if p.eof() {
			return nil, p.errorf(line, "array %q is not closed with ')'", key)
		}
		switch p.peek() {
		case ')':
			p.pos++
			return vals, nil
		case '#':
			p.skipLine()
			continue
		}
		v, err := p.word(key)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
}

// word parses one shell word made of unquoted, single-quoted and
// double-quoted parts. It stops at a blank, newline, ')' or end of input.
func (p *parser) word(key string) (string, error) {
	line := p.line
	start := p.pos
	var b strings.Builder
	needsShell := false
	for !p.eof() {
		c := p.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ')':
			return p.finish(key, line, start, b.String(), needsShell)
		case c == '\'':
			p.pos++
			end := bytes.IndexByte(p.src[p.pos:], '\'')
			if end < 0 {
				return "", p.errorf(line, "unterminated single quote in the value of %q", key)
			}
			for _, ch := range p.src[p.pos : p.pos+end] {
				if ch == '\n' {
					p.line++
				}
			}
			b.Write(p.src[p.pos : p.pos+end])
			p.pos += end + 1
		case c == '"':
			p.pos++
			s, shell, err := p.doubleQuoted(key, line)
			if err != nil {
				return "", err
			}
			needsShell = needsShell || shell
			b.WriteString(s)
		case c == '`':
			needsShell = true
			b.WriteByte(p.advance())
		case c == '$':
			if !p.dollarExpands() {
				b.WriteByte(p.advance())
				continue
			}
			needsShell = true
			text, err := p.expansion(key, line)
			if err != nil {
				return "", err
			}
			b.WriteString(text)
		case strings.IndexByte("(;|&<>", c) >= 0:
			return "", p.errorf(line, "unquoted %q in the value of %q; put the value in quotes", c, key)
		default:
			b.WriteByte(p.advance())
		}
	}
	return p.finish(key, line, start, b.String(), needsShell)
}

// dollarExpands reports whether the '$' at the current position starts an
// expansion ($(…), ${…}, $name, $1, $?, …).
func (p *parser) dollarExpands() bool {
	if p.pos+1 >= len(p.src) {
		return false
	}
	c := p.src[p.pos+1]
	return c == '(' || c == '{' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') ||
		('0' <= c && c <= '9') || strings.IndexByte("@*#?$!-", c) >= 0
}

// expansion consumes an unquoted $(…), ${…} or $name and returns its text.
func (p *parser) expansion(key string, line int) (string, error) {
	start := p.pos
	p.pos++ // '$'
	open, close := byte(0), byte(0)
	switch p.peek() {
	case '(':
		open, close = '(', ')'
	case '{':
		open, close = '{', '}'
	default:
		p.pos++ // one-character name or first character of a name
		for !p.eof() && (p.peek() == '_' || ('a' <= p.peek() && p.peek() <= 'z') || ('A' <= p.peek() && p.peek() <= 'Z') || ('0' <= p.peek() && p.peek() <= '9')) {
			p.pos++
		}
		return string(p.src[start:p.pos]), nil
	}
	depth := 0
	for !p.eof() {
		c := p.advance()
		switch c {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return string(p.src[start:p.pos]), nil
			}
		}
	}
	return "", p.errorf(line, "unterminated $%c in the value of %q", open, key)
}

func (p *parser) doubleQuoted(key string, line int) (string, bool, error) {
	var b strings.Builder
	shell := false
	for !p.eof() {
		c := p.advance()
		switch c {
		case '"':
			return b.String(), shell, nil
		case '\\':
			if p.eof() {
				break
			}
			switch n := p.peek(); n {
			case '"', '\\', '$', '`':
				b.WriteByte(p.advance())
			case '\n':
				p.advance() // line continuation
			default:
				b.WriteByte('\\')
			}
		case '`':
			shell = true
			b.WriteByte(c)
		case '$':
			p.pos--
			shell = shell || p.dollarExpands()
			p.pos++
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", false, p.errorf(line, "unterminated double quote in the value of %q", key)
}

func (p *parser) finish(key string, line, start int, literal string, needsShell bool) (string, error) {
	if !needsShell {
		return literal, nil
	}
	p.shellSeen = true
	switch p.mode {
	case ShellLiteral:
		return literal, nil
	case ShellEval:
		raw := string(p.src[start:p.pos])
		cmd := exec.Command("/bin/sh", "-c", "printf '%s' "+raw)
		cmd.Dir = p.dir
		out, err := cmd.Output()
		if err != nil {
			return "", p.errorf(line, "evaluating the value of %q: %v", key, err)
		}
		return string(out), nil
	case ShellTrusted:
		why := "it is not read from a file"
		if p.untrusted != nil {
			why = "the file is not trusted to run shell code (see below)"
		}
		return "", p.errorf(line, "the value of %q needs shell evaluation ($(…), `…` or $VAR), and %s", key, why)
	}
	return "", p.errorf(line, "the value of %q needs shell evaluation ($(…), `…` or $VAR), which is off; quote it with '…', or pass --shell-values=literal (keep it as written) or --shell-values=eval (run it, as upstream), or set DYSNOMIA_SHELL_VALUES to one of those", key)
}
