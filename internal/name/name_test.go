package name

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"app", true},
		{"testdb", true},
		{"my app's \"db\"", true},
		{"x-testdb", true},
		{"a.b_c+d", true},
		{"données", true},
		{strings.Repeat("a", MaxLen), true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"x/../..", false},
		{"../../../etc", false},
		{"/abs", false},
		{"new\nline", false},
		{"tab\there", false},
		{"nul\x00", false},
		{"esc\x1b[31m", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"rlo\u202egpj", false},
		{"bad\xffutf8", false},
		{"bad\ufffd", false},
		{"-leading-dash", true},
		{strings.Repeat("a", MaxLen+1), false},
	} {
		err := Check(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\x00\x1b") {
			t.Errorf("Check(%q): the error %q prints the raw name", tc.in, err)
		}
	}
}

// FuzzCheck checks the rule's promises on any input: an accepted name is
// one clean path segment that prints on one line.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"app", "a/b", "..", "new\nline", "-x", "données", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error for %q spans lines: %q", s, err)
			}
			return
		}
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00\n\r") || len(s) > MaxLen {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted %q with control character %U", s, r)
			}
		}
	})
}
