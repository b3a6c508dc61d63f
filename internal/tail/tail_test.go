package tail

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		in, last string
		keep     int
	}{
		{"a\nb\n-- end\n\n", "-- end", 64},
		{"no newline at all", "no newline at all", 64},
		{strings.Repeat("x", 10000) + "\nlast line\n", "last line", 16},
		{"", "", 16},
		{"\n\n \n", "", 16},
	} {
		r := &Reader{R: iotest.OneByteReader(strings.NewReader(tc.in)), Keep: tc.keep}
		if r.EOF() {
			t.Fatal("EOF before reading")
		}
		out, err := io.ReadAll(r)
		if err != nil || string(out) != tc.in {
			t.Fatalf("passed through %q, %v", out, err)
		}
		if !r.EOF() {
			t.Errorf("%q: EOF not noted", tc.in)
		}
		if got := r.LastLine(); got != tc.last {
			t.Errorf("%q: LastLine = %q, want %q", tc.in, got, tc.last)
		}
		if n := len(r.Tail()); n < min(tc.keep, len(tc.in)) || n > 2*tc.keep {
			t.Errorf("%q: kept %d bytes, want %d to %d", tc.in, n, min(tc.keep, len(tc.in)), 2*tc.keep)
		}
	}
	// A reader that is not read to the end does not claim to be.
	r := &Reader{R: strings.NewReader("abc\ndef\n"), Keep: 16}
	r.Read(make([]byte, 3))
	if r.EOF() {
		t.Error("EOF after a partial read")
	}
}
