package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flagLine matches the spelling column of a flag in a help text:
// "  -o, --operation=ACTIVITY", "      --shell", "  -y".
var flagLine = regexp.MustCompile(`(?m)^  (?:-(\w)(?:, )?)?(?:\s*--([a-z][a-z-]*))?(?:=\S+)?(?:\s|$)`)

// helpFlags lists the flags of a help text's flag lines after the line
// holding heading ("" for all), as "-o/--operation", "--shell", "-y".
func helpFlags(text, heading string) []string {
	if heading != "" {
		i := strings.Index(text, heading)
		if i < 0 {
			return nil
		}
		text = text[i:]
	}
	var out []string
	for _, m := range flagLine.FindAllStringSubmatch(text, -1) {
		switch {
		case m[1] != "" && m[2] != "":
			out = append(out, "-"+m[1]+"/--"+m[2])
		case m[1] != "":
			out = append(out, "-"+m[1])
		case m[2] != "":
			out = append(out, "--"+m[2])
		}
	}
	return out
}

// TestDysnomiaHelpShowsUpstreamFlags: dysnomia --help (and upstream's -h)
// show the upstream command line Disnix uses, flag by flag.
func TestDysnomiaHelpShowsUpstreamFlags(t *testing.T) {
	want := []string{"-o/--operation", "-c/--component", "-C/--container", "-t/--type", "-E/--environment", "--shell", "--command", "-h/--help", "-v/--version"}
	var first string
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--he"}} {
		out, errOut, code := runCLI(t, "dysnomia", nil, args...)
		if code != 0 {
			t.Fatalf("dysnomia %v: exit %d: %s", args, code, errOut)
		}
		if d := cmp.Diff(want, helpFlags(out, "Upstream command line")); d != "" {
			t.Errorf("dysnomia %v: upstream flags (-want +got):\n%s\n%s", args, d, out)
		}
		// The modern help comes first: the subcommands and global flags.
		for _, s := range []string{"activate", "containers generate-expr", "--state-dir=DIR", "--shell-values=MODE"} {
			if !strings.Contains(out, s) {
				t.Errorf("dysnomia %v: no %q in the help", args, s)
			}
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("dysnomia %v prints another help than --help", args)
		}
	}
	// A subcommand's help is kong's alone.
	out, _, _ := runCLI(t, "dysnomia", nil, "activate", "--help")
	if strings.Contains(out, "Upstream command line") || !strings.Contains(out, "--component=NAME|PATH") {
		t.Errorf("activate --help:\n%s", out)
	}
}

// TestUpstreamToolHelp: dysnomia-snapshots and dysnomia-containers list
// the upstream flags they take (§6.1, §7.1 of upstream's interface), and
// every subcommand they name exists.
func TestUpstreamToolHelp(t *testing.T) {
	cases := []struct {
		prog, modern string
		ops, opts    []string
	}{
		{
			prog: "dysnomia-snapshots", modern: "snapshots",
			ops:  []string{"--query-all", "--query-latest", "--print-missing", "--resolve", "--gc", "--import"},
			opts: []string{"--check", "-C/--container", "-c/--component", "--keep", "-h/--help", "-v/--version"},
		},
		{
			prog: "dysnomia-containers", modern: "containers",
			ops: []string{"--query-containers", "--query-available-components", "--query-activated-components",
				"--generate-expr", "--generate-dot", "-o/--operation", "--deploy", "--snapshot", "--restore", "--collect-garbage"},
			opts: []string{"-C/--container", "-y", "--json", "--dry-run", "--shell-values", "-h/--help", "-v/--version"},
		},
	}
	sub := regexp.MustCompile(`\[([a-z-]+)\]`)
	for _, tc := range cases {
		t.Run(tc.prog, func(t *testing.T) {
			for _, args := range [][]string{{"--help"}, {"-h"}, {tc.ops[0], "--help"}} {
				out, errOut, code := runCLI(t, tc.prog, nil, args...)
				if code != 0 {
					t.Fatalf("%s %v: exit %d: %s", tc.prog, args, code, errOut)
				}
				if !strings.HasPrefix(out, "Usage: "+tc.prog+" ") {
					t.Errorf("%s %v: usage line:\n%s", tc.prog, args, out)
				}
				ops, _, _ := strings.Cut(out, "\nOptions:\n")
				if d := cmp.Diff(tc.ops, helpFlags(ops, "Operations")); d != "" {
					t.Errorf("%s %v: operations (-want +got):\n%s", tc.prog, args, d)
				}
				if d := cmp.Diff(tc.opts, helpFlags(out, "\nOptions:\n")); d != "" {
					t.Errorf("%s %v: options (-want +got):\n%s", tc.prog, args, d)
				}
				named := sub.FindAllStringSubmatch(out, -1)
				if len(named) != len(tc.ops) {
					t.Errorf("%s: %d subcommands named for %d operations", tc.prog, len(named), len(tc.ops))
				}
				for _, m := range named {
					if _, errOut, code := runCLI(t, "dysnomia", nil, tc.modern, m[1], "--help"); code != 0 {
						t.Errorf("%s names dysnomia %s %s, which does not exist: %s", tc.prog, tc.modern, m[1], errOut)
					}
				}
			}
		})
	}
}

// TestHelpFlagsAreParsed: every flag a help text lists is one the
// translation takes (an option that is not in the parser's table fails
// getopt).
func TestHelpFlagsAreParsed(t *testing.T) {
	for prog, flags := range map[string][]compatFlag{"dysnomia": dysnomiaFlags, "dysnomia-snapshots": snapshotsFlags, "dysnomia-containers": containersFlags} {
		for _, f := range flags {
			if f.Long == "help" || f.Long == "version" {
				continue
			}
			arg := "--" + f.Long
			if f.Long == "" {
				arg = "-" + string(f.Short)
			}
			args := []string{arg}
			if f.HasArg {
				args = append(args, "x")
			}
			switch prog {
			case "dysnomia":
				args = append(args, "-o", "activate")
			case "dysnomia-snapshots":
				args = append(args, "--query-all")
			case "dysnomia-containers":
				args = append(args, "--deploy")
			}
			if _, err := translate(prog, args); err != nil {
				t.Errorf("%s %v: %v", prog, args, err)
			}
		}
	}
}

// TestManPageUpstreamSection: the manual page describes the upstream
// command line too.
func TestManPageUpstreamSection(t *testing.T) {
	page, _, code := runCLI(t, "dysnomia", []string{"SOURCE_DATE_EPOCH=1700000000"}, "man")
	_, section, ok := strings.Cut(page, ".SH UPSTREAM COMMAND LINE\n")
	if code != 0 || !ok {
		t.Fatalf("man: exit %d, no upstream section", code)
	}
	section, _, _ = strings.Cut(section, ".SH ")
	for _, f := range []string{"--operation=ACTIVITY", "--component=NAME|PATH", "--container=NAME|PATH", "--type=TYPE", "--environment", "--shell", "--command=CMDS"} {
		if !strings.Contains(section, f) {
			t.Errorf("upstream section lacks %s:\n%s", f, section)
		}
	}
}
