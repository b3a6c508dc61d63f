// Package name holds the one rule for the names Dysnomia turns into
// directory entries and database identifiers: container names, component
// names and snapshot ids. Every entry point (the activity commands, the
// containers, snapshots and system commands, import streams) checks names
// with Check before it has any side effect.
package name

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest name accepted, in bytes: the longest file name
// Linux file systems take.
const MaxLen = 255

// Check accepts a name usable as one directory entry and printable on one
// line: not empty, not "." or "..", no "/", valid UTF-8 without control
// or format characters (newlines, NUL, escape sequences, bidirectional
// overrides, …) or U+FFFD, and at most MaxLen bytes. Spaces, quotes, a
// leading "-" and other punctuation are allowed: modules quote identifiers
// and never pass a name where a tool could take it for an option.
func Check(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty name")
	case s == "." || s == "..":
		return fmt.Errorf("invalid name %s: a path step, not a name", strconv.Quote(s))
	case strings.Contains(s, "/"):
		return fmt.Errorf("invalid name %s: contains \"/\"", strconv.Quote(s))
	case !utf8.ValidString(s):
		return fmt.Errorf("invalid name %s: not valid UTF-8", strconv.Quote(s))
	case len(s) > MaxLen:
		return fmt.Errorf("invalid name %s…: longer than %d bytes", strconv.Quote(s[:32]), MaxLen)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return fmt.Errorf("invalid name %s: contains the control character %U", strconv.Quote(s), r)
		case r == utf8.RuneError:
			// U+FFFD is what a mangled encoding leaves behind.
			return fmt.Errorf("invalid name %s: contains the replacement character U+FFFD (a mangled encoding)", strconv.Quote(s))
		}
	}
	return nil
}
