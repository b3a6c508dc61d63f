package nixexpr

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// nixInstantiate returns the path of nix-instantiate. It skips the test
// when the tool is missing, or fails it under CI=true.
func nixInstantiate(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nix-instantiate is required under CI (Debian package nix-bin): %v", err)
		}
		t.Skipf("nix-instantiate not installed (Debian package nix-bin): %v", err)
	}
	return p
}

// eval evaluates a Nix expression with the real evaluator and decodes its
// JSON.
func eval(t testing.TB, nix string, expr []byte) any {
	t.Helper()
	file := filepath.Join(t.TempDir(), "expr.nix")
	if err := os.WriteFile(file, expr, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nix, "--eval", "--strict", "--json", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s\nexpression:\n%s", err, stderr.String(), expr)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decode nix output %q: %v", out, err)
	}
	return v
}

// nastyStrings are values that break naive rendering.
var nastyStrings = []string{
	"",
	"plain",
	`"quoted"`,
	`back\slash`,
	`trailing\`,
	`\"`,
	"${interpolation}",
	"$${double dollar}",
	`\${escaped}`,
	"$",
	"a$",
	"$(cat /proc/meminfo | grep MemTotal)",
	"`backticks`",
	"line1\nline2\n",
	"crlf\r\nand lone\rcr",
	"\ttab",
	"''indented''",
	"unicode: é ü 中文 🚀 \u202e",
	"with spaces  and   more",
	"#comment-like",
	"a;b=c",
	"{ braces }",
	"nul-free \x01\x1f control",
}

// nastyNames are attribute names: plain, keywords and anything a file
// name can hold.
var nastyNames = []string{
	"plain", "with-dash", "under_score", "prime'", "if", "or", "inherit", "let", "true",
	"1starts-with-digit", "has.dot", "has space", `has"quote`, `back\slash`, "${x}", "é", "",
	"-dash-first", "'quote-first",
}

// TestRoundTrip renders values, evaluates them with nix-instantiate and
// compares with what was rendered.
func TestRoundTrip(t *testing.T) {
	nix := nixInstantiate(t)
	var attrs Attrs
	want := map[string]any{}
	for i, name := range nastyNames {
		s := nastyStrings[i%len(nastyStrings)]
		attrs = append(attrs, Attr{Name: name, Value: String(s)})
		want[name] = s
	}
	var list List
	var wantList []any
	for _, s := range nastyStrings {
		list = append(list, String(s))
		wantList = append(wantList, s)
		attrs = append(attrs, Attr{Name: "v " + s, Value: String(s)})
		want["v "+s] = s
	}
	attrs = append(attrs,
		Attr{Name: "list", Value: list},
		Attr{Name: "empty list", Value: List{}},
		Attr{Name: "empty set", Value: Attrs{}},
		Attr{Name: "nested", Value: Attrs{{Name: "in", Value: Attrs{{Name: "${a}", Value: List{String("x y"), String("")}}}}}},
	)
	want["list"] = wantList
	want["empty list"] = []any{}
	want["empty set"] = map[string]any{}
	want["nested"] = map[string]any{"in": map[string]any{"${a}": []any{"x y", ""}}}
	out, err := Render(attrs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(out, []byte("}\n")) {
		t.Errorf("no trailing newline: %q", out[len(out)-5:])
	}
	if d := cmp.Diff(any(want), eval(t, nix, out)); d != "" {
		t.Errorf("evaluated (-want +got):\n%s\nexpression:\n%s", d, out)
	}
}

// TestMachineRoundTrip parses a properties file and container files full of
// awkward values, renders the machine, evaluates it, and compares with the
// values the parser produced.
func TestMachineRoundTrip(t *testing.T) {
	nix := nixInstantiate(t)
	propsText := `hostname="machine"
mem="$(grep 'MemTotal:' /proc/meminfo | sed -e 's/kB//' -e 's/MemTotal://' -e 's/ //g')"
system="x86_64-linux"
supportedTypes=("echo" "fileset" "postgresql-database" "a b" "")
quoted='single "quotes" and \backslash'
dollar='${not interpolated}'
multi="two
lines"
empty=
emptyList=()
`
	props, err := config.Parse("properties", []byte(propsText), config.ShellLiteral)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := config.Parse("mysql-database", []byte("type=mysql-database\nmysqlPort=3306\nmysqlSocket=/run/mysqld/mysqld.sock\n"), config.ShellReject)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := config.Parse("weird", []byte(`type=echo
greeting="say \"hi\" \\ to ${USER-less} people"
tricky='\${x}'
words=(one "two three" '$(four)')
`), config.ShellLiteral)
	if err != nil {
		t.Fatal(err)
	}
	m := Machine{
		Properties:    props,
		HasProperties: true,
		Containers: []Container{
			{Name: "mysql-database", Properties: c1.Without("type")},
			{Name: "weird name.with${stuff}", Properties: c2.Without("type")},
			{Name: "in", Properties: nil},
		},
	}
	out, err := Render(m.Expr())
	if err != nil {
		t.Fatal(err)
	}
	got := eval(t, nix, out)

	toGo := func(ps config.Properties) map[string]any {
		o := map[string]any{}
		for _, p := range ps {
			if p.List {
				l := []any{}
				for _, v := range p.Values {
					l = append(l, v)
				}
				o[p.Key] = l
			} else {
				o[p.Key] = p.Value()
			}
		}
		return o
	}
	want := map[string]any{
		"properties": toGo(props),
		"containers": map[string]any{
			"mysql-database":          toGo(c1.Without("type")),
			"weird name.with${stuff}": toGo(c2.Without("type")),
			"in":                      map[string]any{},
		},
		"system": "x86_64-linux",
	}
	if d := cmp.Diff(any(want), got); d != "" {
		t.Errorf("evaluated (-want +got):\n%s\nexpression:\n%s", d, out)
	}
	// The values really are the awkward ones (the parser did not lose them).
	if v := props.Lookup("mem"); !strings.HasPrefix(v, "$(grep") {
		t.Errorf("mem = %q", v)
	}
}

// TestMachineShape pins the text: upstream's layout, attribute names
// quoted only when needed, and no properties block without a file.
func TestMachineShape(t *testing.T) {
	m := Machine{
		HasProperties: true,
		Properties: config.Properties{
			{Key: "hostname", Values: []string{"machine"}},
			{Key: "supportedTypes", Values: []string{"echo", "fileset"}, List: true},
			{Key: "system", Values: []string{"x86_64-linux"}},
		},
		Containers: []Container{
			{Name: "postgresql-database", Properties: config.Properties{{Key: "postgresqlUsername", Values: []string{"postgres"}}}},
			{Name: "my.dir", Properties: nil},
		},
	}
	out, err := Render(m.Expr())
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  properties = {
    hostname = "machine";
    supportedTypes = [ "echo" "fileset" ];
    system = "x86_64-linux";
  };
  containers = {
    postgresql-database = {
      postgresqlUsername = "postgres";
    };
    "my.dir" = { };
  };
  system = "x86_64-linux";
}
`
	if d := cmp.Diff(want, string(out)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	out, err = Render(Machine{}.Expr())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("{\n  containers = { };\n}\n", string(out)); d != "" {
		t.Errorf("empty machine (-want +got):\n%s", d)
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"${x}", `"\${x}"`},
		{"$${x}", `"$\${x}"`},
		{"$(x)", `"$(x)"`},
		{"a\nb\r\tc", `"a\nb\r\tc"`},
		{"é", `"é"`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestAttrName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgresql-database", "postgresql-database"},
		{"_x'", "_x'"},
		{"if", `"if"`},
		{"1x", `"1x"`},
		{"a.b", `"a.b"`},
		{"", `""`},
		{"${x}", `"\${x}"`},
	} {
		if got := AttrName(tc.in); got != tc.want {
			t.Errorf("AttrName(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestNULIsAnError(t *testing.T) {
	_, err := Render(Attrs{{Name: "containers", Value: Attrs{{Name: "c", Value: Attrs{{Name: "k", Value: String("a\x00b")}}}}}})
	if err == nil || !strings.Contains(err.Error(), "containers.c.k: the value contains a NUL byte") {
		t.Errorf("error = %v", err)
	}
}
