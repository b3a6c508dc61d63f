package config

import (
	"strings"
	"testing"
)

// FuzzParse checks that the parser never panics, never runs anything in the
// default mode, and that what it accepts survives a render/parse round trip.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"type=postgresql-database\npostgresqlPort=5432\n",
		"a=\"x y\"\nb='z'\nc=(\"1\" 2 '3')\n# c\n",
		"mem=\"$(grep MemTotal /proc/meminfo)\"\n",
		"a=\"\\\"\\\\\\$\"\nexport b=1",
		"a=(\n x # c\n)\n",
		"a='\n'\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		props, err := Parse("fuzz", []byte(in), ShellReject)
		if err != nil {
			return
		}
		again, err := Parse("render", []byte(render(props)), ShellReject)
		if err != nil {
			t.Fatalf("rendered properties do not parse: %v\ninput: %q\nrendered: %q", err, in, render(props))
		}
		if len(again) != len(props) {
			t.Fatalf("round trip changed the number of properties: %d -> %d", len(props), len(again))
		}
		for i := range props {
			if props[i].Key != again[i].Key || props[i].List != again[i].List || strings.Join(props[i].Values, "\x00") != strings.Join(again[i].Values, "\x00") {
				t.Fatalf("round trip changed %+v into %+v", props[i], again[i])
			}
		}
	})
}

// render writes properties back with single quotes, the quoting that keeps
// everything literally.
func render(ps Properties) string {
	var b strings.Builder
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }
	for _, p := range ps {
		b.WriteString(p.Key + "=")
		if p.List {
			b.WriteString("(")
			for _, v := range p.Values {
				b.WriteString(q(v) + " ")
			}
			b.WriteString(")")
		} else {
			b.WriteString(q(p.Value()))
		}
		b.WriteString("\n")
	}
	return b.String()
}
