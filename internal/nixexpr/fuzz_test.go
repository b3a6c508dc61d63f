package nixexpr

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzRoundTrip renders an attribute name and a string value, evaluates the
// result with the real nix-instantiate and checks that both come back
// unchanged. Seeds are in testdata/fuzz/FuzzRoundTrip; run it with
//
//	go test ./internal/nixexpr -run '^$' -fuzz FuzzRoundTrip -fuzztime 60s
func FuzzRoundTrip(f *testing.F) {
	for i, s := range nastyStrings {
		f.Add(nastyNames[i%len(nastyNames)], s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		expr := Attrs{{Name: name, Value: Attrs{
			{Name: "s", Value: String(value)},
			{Name: "l", Value: List{String(value), String(name), String("")}},
		}}}
		out, err := Render(expr)
		if strings.ContainsRune(name+value, 0) {
			if err == nil {
				t.Fatalf("NUL byte rendered without an error: %q", out)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// Each on its own: two invalid halves can make a valid whole.
		if !utf8.ValidString(name) || !utf8.ValidString(value) {
			t.Skip("nix-instantiate --json does not round-trip invalid UTF-8")
		}
		got := eval(t, nixInstantiate(t), out)
		want := map[string]any{name: map[string]any{"s": value, "l": []any{value, name, ""}}}
		if d := cmp.Diff(any(want), got); d != "" {
			t.Fatalf("(-want +got):\n%s\nexpression:\n%s", d, out)
		}
	})
}
