package ejabberd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const prettyDump = `{tables,[{passwd,[{record_name,passwd},{attributes,[us,password]}]},
         {vcard,[{record_name,vcard},{attributes,[us,vcard]}]}]}.
{passwd,{<<"bob">>,<<"localhost">>},<<"pw. x">>}.
{vcard,{<<"a">>,<<"localhost">>},
       {xmlel,<<"vCard">>,[],
              [{xmlcdata,<<"it's \"quoted\".\n% no comment">>},
               {x,$., $\n, $\x{1F600}, 'odd. atom', 1.5e-3}]}}.
{passwd,{<<"alice">>,<<"localhost">>},<<"pw">>}.
`

// The same data in another order and layout.
const shuffledDump = `% a comment
{tables,[{vcard,[{record_name,vcard},{attributes,[us,vcard]}]},{passwd,[{record_name,passwd},{attributes,[us,password]}]}]}.
{passwd,{<<"alice">>,<<"localhost">>},<<"pw">>}.
{vcard,{<<"a">>,<<"localhost">>},{xmlel,<<"vCard">>,[],[{xmlcdata,<<"it's \"quoted\".\n% no comment">>},{x,$., $\n, $\x{1F600}, 'odd. atom', 1.5e-3}]}}.
{passwd, {<<"bob">>, <<"localhost">>}, <<"pw. x">>}.
`

func canonical(t *testing.T, in string) string {
	t.Helper()
	d, err := parseDump(strings.NewReader(in))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var b strings.Builder
	if err := d.write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCanonical(t *testing.T) {
	got := canonical(t, prettyDump)
	want := dumpHeader + "\n" +
		`{tables,[{passwd,[{record_name,passwd},{attributes,[us,password]}]},{vcard,[{record_name,vcard},{attributes,[us,vcard]}]}]}.` + "\n" +
		`{passwd,{<<"alice">>,<<"localhost">>},<<"pw">>}.` + "\n" +
		`{passwd,{<<"bob">>,<<"localhost">>},<<"pw. x">>}.` + "\n" +
		`{vcard,{<<"a">>,<<"localhost">>},{xmlel,<<"vCard">>,[],[{xmlcdata,<<"it's \"quoted\".\n% no comment">>},{x,$.,$\n,$\x{1F600},'odd. atom',1.5e-3}]}}.` + "\n" +
		endMarker + " 3" + endSuffix + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, canonical(t, shuffledDump)); diff != "" {
		t.Errorf("another order gives other bytes:\n%s", diff)
	}
	if diff := cmp.Diff(got, canonical(t, got)); diff != "" {
		t.Errorf("the canonical form is not stable:\n%s", diff)
	}
	d, _ := parseDump(strings.NewReader(got))
	if !d.marked || !d.ours {
		t.Errorf("marked %v ours %v, want both", d.marked, d.ours)
	}
}

func TestParseErrors(t *testing.T) {
	hdr := "{tables,[{passwd,[{record_name,passwd},{attributes,[us,password]}]}]}.\n"
	for in, want := range map[string]string{
		"": "empty dump",
		hdr + "{passwd,{<<\"a\">>,<<\"b\">>},<<\"c":              "cut off",
		hdr + "{passwd,{<<\"a\">>}":                              "cut off",
		hdr + "{roster,1,2}.\n":                                  "does not define",
		"{passwd,1,2}.\n":                                        "does not start with {tables",
		hdr + endMarker + " 1" + endSuffix + "\n":                "counts 1 records",
		hdr + endMarker + " 0" + endSuffix + "\n{passwd,1,2}.\n": "after the end marker",
		hdr + "{passwd,1,2}}.\n":                                 "unbalanced",
	} {
		if _, err := parseDump(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", in, err, want)
		}
	}
}
