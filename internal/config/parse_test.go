package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func scalar(k, v string) Property { return Property{Key: k, Values: []string{v}} }
func list(k string, vs ...string) Property {
	if vs == nil {
		vs = []string{}
	}
	return Property{Key: k, Values: vs, List: true}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Properties
	}{
		{"plain", "type=postgresql-database\npostgresqlPort=5432\n",
			Properties{scalar("type", "postgresql-database"), scalar("postgresqlPort", "5432")}},
		{"no final newline", "a=1\nb=2", Properties{scalar("a", "1"), scalar("b", "2")}},
		{"empty value", "a=\nb=''\nc=\"\"\n", Properties{scalar("a", ""), scalar("b", ""), scalar("c", "")}},
		{"double quotes with spaces", `a="hello world"`, Properties{scalar("a", "hello world")}},
		{"single quotes keep everything", `a='$(rm -rf /) "x" \n'`, Properties{scalar("a", `$(rm -rf /) "x" \n`)}},
		{"escapes in double quotes", `a="q\"uote \\ back \$ \` + "`" + ` and \n"`,
			Properties{scalar("a", "q\"uote \\ back $ ` and \\n")}},
		{"unquoted backslash kept", `path=C:\dir\file`, Properties{scalar("path", `C:\dir\file`)}},
		{"mixed quoting in one word", `a=pre"mid dle"'post'`, Properties{scalar("a", "premid dlepost")}},
		{"comments and blanks", "# header\n\n  # indented\na=1 # trailing\nb=x#y\n",
			Properties{scalar("a", "1"), scalar("b", "x#y")}},
		{"export prefix", "export a=1\n", Properties{scalar("a", "1")}},
		{"lone dollar is literal", "a=5$\nb=$%\n", Properties{scalar("a", "5$"), scalar("b", "$%")}},
		{"array", `supportedTypes=("process" "wrapper" bare)`, Properties{list("supportedTypes", "process", "wrapper", "bare")}},
		{"array with spaces and empty", `a=("x y" '' "z")`, Properties{list("a", "x y", "", "z")}},
		{"empty array", "a=()\nb=( )\n", Properties{list("a"), list("b")}},
		{"multi-line array with comment", "a=(\n  \"one\" # first\n  two\n)\nb=1\n", Properties{list("a", "one", "two"), scalar("b", "1")}},
		{"upstream module array form", `a=("e1" "e2" )`, Properties{list("a", "e1", "e2")}},
		{"later wins", "a=1\nb=2\na=3\n", Properties{scalar("a", "3"), scalar("b", "2")}},
		{"CRLF", "a=1\r\nb=2\r\n", Properties{scalar("a", "1"), scalar("b", "2")}},
		{"multi-line single quote", "a='x\ny'\nb=1\n", Properties{scalar("a", "x\ny"), scalar("b", "1")}},
		{"unicode", "name=\"çà ☃\"\n", Properties{scalar("name", "çà ☃")}},
		{"nothing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("test", []byte(tt.in), ShellReject)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// The refusal names both ways to allow shell values: the flag and the
// variable.
func TestShellValueErrorNamesFlagAndVariable(t *testing.T) {
	_, err := Parse("f", []byte("mem=\"$(grep MemTotal /proc/meminfo)\"\n"), ShellReject)
	if err == nil || !strings.Contains(err.Error(), "--shell-values=literal") || !strings.Contains(err.Error(), "--shell-values=eval") || !strings.Contains(err.Error(), "DYSNOMIA_SHELL_VALUES") {
		t.Errorf("error = %v; want it to name --shell-values and DYSNOMIA_SHELL_VALUES", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // every error message, in order
	}{
		{"command substitution", "a=1\nmem=\"$(grep MemTotal /proc/meminfo)\"\n",
			[]string{`f:2: the value of "mem" needs shell evaluation`}},
		{"backticks", "a=`date`\n", []string{`f:1: the value of "a" needs shell evaluation`}},
		{"variable", "a=$HOME/x\n", []string{`f:1: the value of "a" needs shell evaluation`}},
		{"braced variable in quotes", "a=\"${HOME}\"\n", []string{`f:1: the value of "a" needs shell evaluation`}},
		{"spaces around equals", "a = 1\n", []string{`f:1: no spaces allowed around '='`}},
		{"space after equals", "a= 1\n", []string{`f:1: space after '=' in "a"`}},
		{"unquoted space", "a=hello world\n", []string{`f:1: unexpected "world" after the value`}},
		{"unterminated double", "a=\"abc\nb=1\n", []string{`f:1: unterminated double quote`}},
		{"unterminated single", "a='abc\n", []string{`f:1: unterminated single quote`}},
		{"unclosed array", "a=(1 2\n", []string{`f:1: array "a" is not closed`}},
		{"shell metacharacter", "a=x;rm\n", []string{`f:1: unquoted ';' in the value of "a"`}},
		{"not an assignment", "just words\n", []string{`f:1: expected '=' after "just"`}},
		{"bad key", "1a=2\n", []string{`f:1: expected key=value`}},
		{"every problem reported", "a = 1\nok=1\nb=$(x)\n", []string{
			`f:1: no spaces allowed around '='`,
			`f:3: the value of "b" needs shell evaluation`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f", []byte(tt.in), ShellReject)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(msgs), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(msgs[i], w) {
					t.Errorf("error %d = %q, want prefix %q", i, msgs[i], w)
				}
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "f" || pe.Line == 0 {
				t.Errorf("error is not a located *ParseError: %#v", err)
			}
		})
	}
}

func TestShellModes(t *testing.T) {
	in := "mem=\"$(echo 4096)\"\nhome=$HOME\nplain=1\n"
	lit, err := Parse("f", []byte(in), ShellLiteral)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Properties{scalar("mem", "$(echo 4096)"), scalar("home", "$HOME"), scalar("plain", "1")}, lit); diff != "" {
		t.Errorf("literal mode (-want +got):\n%s", diff)
	}
	t.Setenv("HOME", "/home/someone")
	ev, err := Parse("f", []byte(in), ShellEval)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Properties{scalar("mem", "4096"), scalar("home", "/home/someone"), scalar("plain", "1")}, ev); diff != "" {
		t.Errorf("eval mode (-want +got):\n%s", diff)
	}
}

func TestParseShellMode(t *testing.T) {
	for in, want := range map[string]ShellMode{"": ShellReject, "reject": ShellReject, "literal": ShellLiteral, "eval": ShellEval} {
		got, err := ParseShellMode(in)
		if err != nil || got != want {
			t.Errorf("ParseShellMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseShellMode("yes"); err == nil {
		t.Error("ParseShellMode(yes) succeeded")
	}
}

func TestLoadContainer(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mysql-container")
	if err := os.WriteFile(p, []byte("type=mysql-database\nmysqlSocket=/run/mysqld/mysqld.sock\nmysqlPassword='p a$s'"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadContainer(p, ShellReject)
	if err != nil {
		t.Fatal(err)
	}
	want := &Container{Name: "mysql-container", File: p, Type: "mysql-database",
		Properties: Properties{scalar("mysqlSocket", "/run/mysqld/mysqld.sock"), scalar("mysqlPassword", "p a$s")}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("LoadContainer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mysqlSocket=/run/mysqld/mysqld.sock", "mysqlPassword=p a$s"}, c.Properties.Env()); diff != "" {
		t.Errorf("Env (-want +got):\n%s", diff)
	}
}

func TestPropertiesListValueJoinsWithSpaces(t *testing.T) {
	ps := Properties{list("types", "a b", "c")}
	if got := ps.Lookup("types"); got != "a b c" {
		t.Errorf("Lookup = %q", got)
	}
}
