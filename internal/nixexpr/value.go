// Package nixexpr renders Nix expressions: strings with correct escaping,
// lists, and attribute sets whose names are quoted when they are not plain
// identifiers. It renders the subset of Nix that describes data; it never
// produces an interpolation, whatever the input.
package nixexpr

import (
	"fmt"
	"strings"
)

// Value is a Nix value: a String, a List or an Attrs.
type Value interface {
	render(b *strings.Builder, indent int, path string) error
}

// String is a Nix string.
type String string

// List is a Nix list, rendered on one line: [ "a" "b" ].
type List []Value

// Attrs is an attribute set whose attributes keep their order, rendered one
// attribute per line.
type Attrs []Attr

// Attr is one attribute of an Attrs.
type Attr struct {
	Name  string
	Value Value
}

// Render renders v with a trailing newline. It fails when a string holds a
// NUL byte, which a Nix string cannot contain, naming the attribute path.
func Render(v Value) ([]byte, error) {
	var b strings.Builder
	if err := v.render(&b, 0, ""); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return []byte(b.String()), nil
}

func (s String) render(b *strings.Builder, _ int, path string) error {
	if strings.IndexByte(string(s), 0) >= 0 {
		return fmt.Errorf("%s: the value contains a NUL byte, which a Nix string cannot hold", orTop(path))
	}
	b.WriteString(Quote(string(s)))
	return nil
}

func (l List) render(b *strings.Builder, indent int, path string) error {
	b.WriteByte('[')
	for i, v := range l {
		b.WriteByte(' ')
		if err := v.render(b, indent, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	b.WriteString(" ]")
	return nil
}

func (a Attrs) render(b *strings.Builder, indent int, path string) error {
	if len(a) == 0 {
		b.WriteString("{ }")
		return nil
	}
	b.WriteString("{\n")
	pad := strings.Repeat(" ", indent+2)
	for _, at := range a {
		if strings.IndexByte(at.Name, 0) >= 0 {
			return fmt.Errorf("%s: an attribute name contains a NUL byte, which Nix cannot hold", orTop(path))
		}
		name := AttrName(at.Name)
		sub := name
		if path != "" {
			sub = path + "." + name
		}
		b.WriteString(pad)
		b.WriteString(name)
		b.WriteString(" = ")
		if err := at.Value.render(b, indent+2, sub); err != nil {
			return err
		}
		b.WriteString(";\n")
	}
	b.WriteString(strings.Repeat(" ", indent))
	b.WriteByte('}')
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "the expression"
	}
	return path
}

// Quote renders s as a double-quoted Nix string that evaluates to exactly s.
// Backslashes and double quotes are escaped, "${" becomes "\${" so that it
// does not start an interpolation, and newlines, carriage returns and tabs
// are written as \n, \r and \t (Nix would turn a raw carriage return into a
// newline). Every other byte is copied.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteString(`\$`)
			} else {
				b.WriteByte('$')
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// keywords cannot be bare attribute names.
var keywords = map[string]bool{
	"assert": true, "else": true, "if": true, "in": true, "inherit": true,
	"let": true, "or": true, "rec": true, "then": true, "with": true,
}

// IsIdentifier reports whether s can be written as a bare attribute name:
// [A-Za-z_][A-Za-z0-9_'-]* and not a keyword.
func IsIdentifier(s string) bool {
	if s == "" || keywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !('0' <= c && c <= '9') && c != '\'' && c != '-' {
			return false
		}
	}
	return true
}

// AttrName renders an attribute name: bare when it is an identifier,
// otherwise quoted like a string.
func AttrName(s string) string {
	if IsIdentifier(s) {
		return s
	}
	return Quote(s)
}
