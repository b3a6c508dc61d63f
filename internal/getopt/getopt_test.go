package getopt

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

var opts = []Option{
	{Long: "operation", Short: 'o', HasArg: true},
	{Long: "component", Short: 'c', HasArg: true},
	{Long: "container", Short: 'C', HasArg: true},
	{Long: "environment", Short: 'E'},
	{Long: "command", HasArg: true},
	{Long: "shell"},
	{Short: 'y'},
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     []Parsed
		operands []string
	}{
		{"long with separate value", []string{"--operation", "activate"}, []Parsed{{"operation", "activate"}}, nil},
		{"long with equals", []string{"--operation=activate"}, []Parsed{{"operation", "activate"}}, nil},
		{"abbreviation", []string{"--op", "activate", "--env"}, []Parsed{{"operation", "activate"}, {"environment", ""}}, nil},
		{"exact match beats prefix", []string{"--shell"}, []Parsed{{"shell", ""}}, nil},
		{"short with separate value", []string{"-o", "snapshot"}, []Parsed{{"operation", "snapshot"}}, nil},
		{"short with attached value", []string{"-osnapshot"}, []Parsed{{"operation", "snapshot"}}, nil},
		{"bundled shorts", []string{"-Ey"}, []Parsed{{"environment", ""}, {"y", ""}}, nil},
		{"bundle ending in a value", []string{"-Ec", "/x"}, []Parsed{{"environment", ""}, {"component", "/x"}}, nil},
		{"value starting with dash", []string{"-c", "-weird"}, []Parsed{{"component", "-weird"}}, nil},
		{"permuted operands", []string{"a", "-E", "b"}, []Parsed{{"environment", ""}}, []string{"a", "b"}},
		{"double dash ends options", []string{"-E", "--", "-o", "x"}, []Parsed{{"environment", ""}}, []string{"-o", "x"}},
		{"single dash is an operand", []string{"-"}, nil, []string{"-"}},
		{"order kept, later wins is the caller's job", []string{"-o", "a", "--operation=b"}, []Parsed{{"operation", "a"}, {"operation", "b"}}, nil},
		{"empty value", []string{"--component="}, []Parsed{{"component", ""}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, operands, err := Parse(opts, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.operands, operands); diff != "" {
				t.Errorf("operands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--co", "x"}, "option '--co' is ambiguous; possibilities: '--command' '--component' '--container'"},
		{[]string{"--bogus"}, "unrecognized option '--bogus'"},
		{[]string{"--operation"}, "option '--operation' requires an argument"},
		{[]string{"--shell=yes"}, "option '--shell' doesn't allow an argument"},
		{[]string{"-x"}, "invalid option -- 'x'"},
		{[]string{"-o"}, "option requires an argument -- 'o'"},
	}
	for _, tt := range tests {
		_, _, err := Parse(opts, tt.args)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %q", tt.args, err, tt.want)
		}
	}
}
