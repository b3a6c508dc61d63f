package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTranslate(t *testing.T) {
	tests := []struct {
		prog string
		args []string
		want []string
	}{
		// dysnomia: upstream spellings.
		{"dysnomia", []string{"--type", "echo", "--operation", "activate", "--component", "/nix/store/x-c", "--container", "echo", "--environment"},
			[]string{"activate", "--component=/nix/store/x-c", "--container=echo", "--type=echo", "--environment"}},
		{"dysnomia", []string{"-o", "deactivate", "-c", "comp", "-C", "./cont"},
			[]string{"deactivate", "--component=comp", "--container=./cont"}},
		{"dysnomia", []string{"--op=snapshot", "--comp", "x", "--cont", "y", "extra", "operands"},
			[]string{"snapshot", "--component=x", "--container=y"}},
		{"dysnomia", []string{"-Et", "echo", "-o", "lock", "-c", "/c"},
			[]string{"lock", "--component=/c", "--type=echo", "--environment"}},
		{"dysnomia", []string{"-o", "activate", "-o", "collect-garbage", "-c", "/c", "-c", "/d", "-E", "-t", "echo"},
			[]string{"collect-garbage", "--component=/d", "--type=echo", "--environment"}},
		{"dysnomia", []string{"--shell", "-c", "/c", "-E", "-t", "echo", "--command", "echo hi"},
			[]string{"shell", "--component=/c", "--type=echo", "--environment", "--command=echo hi"}},
		{"dysnomia", []string{"-o", "activate", "--command", "ignored", "-c", "/c", "-E", "-t", "echo"},
			[]string{"activate", "--component=/c", "--type=echo", "--environment"}},
		{"dysnomia", []string{"-c", "-dashed", "-o", "restore", "-E", "-t", "echo"},
			[]string{"restore", "--component=-dashed", "--type=echo", "--environment"}},
		{"dysnomia", []string{"-h"}, []string{"--help"}},
		{"dysnomia", []string{"--version"}, []string{"version"}},
		// dysnomia: modern command lines pass through untouched.
		{"dysnomia", []string{"activate", "-c", "x", "-C", "y"}, []string{"activate", "-c", "x", "-C", "y"}},
		{"dysnomia", []string{"--state-dir", "/s", "snapshots", "list"}, []string{"--state-dir", "/s", "snapshots", "list"}},
		{"dysnomia", []string{}, []string{}},

		// dysnomia-snapshots.
		{"dysnomia-snapshots", []string{"--query-all", "--container", "mysql-database", "--component", "/nix/store/abc-testdb"},
			[]string{"snapshots", "list", "--container=mysql-database", "--component=/nix/store/abc-testdb"}},
		{"dysnomia-snapshots", []string{"--query-latest", "--check"}, []string{"snapshots", "latest", "--check"}},
		{"dysnomia-snapshots", []string{"--print-missing", "a/b/c", "d/e/f"}, []string{"snapshots", "print-missing", "--", "a/b/c", "d/e/f"}},
		{"dysnomia-snapshots", []string{"--resolve", "a/b/c"}, []string{"snapshots", "resolve", "--", "a/b/c"}},
		{"dysnomia-snapshots", []string{"--gc", "--keep", "3", "-C", "c"}, []string{"snapshots", "gc", "--container=c", "--keep=3"}},
		{"dysnomia-snapshots", []string{"--gc"}, []string{"snapshots", "gc"}},
		{"dysnomia-snapshots", []string{"--import", "-C", "c", "-c", "comp", "/tmp/x/id"}, []string{"snapshots", "add", "--container=c", "--component=comp", "--", "/tmp/x/id"}},
		{"dysnomia-snapshots", []string{"--query-all", "--gc"}, []string{"snapshots", "gc"}},
		{"dysnomia-snapshots", []string{"--query-all", "-C", "a", "-C", "b"}, []string{"snapshots", "list", "--container=b"}},
		{"dysnomia-snapshots", []string{"--query-a"}, []string{"snapshots", "list"}},
		{"dysnomia-snapshots", []string{"-h"}, []string{"snapshots", "--help"}},

		// The account tools.
		{"dysnomia-addusers", []string{"/nix/store/x-svc"}, []string{"users", "add", "--", "/nix/store/x-svc"}},
		{"dysnomia-delusers", []string{"/c", "extra"}, []string{"users", "del", "--", "/c"}},
		{"dysnomia-addgroups", []string{"--", "-dash"}, []string{"groups", "add", "--", "-dash"}},
		{"dysnomia-delgroups", []string{"--help"}, []string{"groups", "del", "--help"}},
		{"dysnomia-delgroups", []string{"-v"}, []string{"version"}},

		// dysnomia-containers.
		{"dysnomia-containers", []string{"--query-containers"}, []string{"containers", "list"}},
		{"dysnomia-containers", []string{"--query-available-components", "-C", "mysql-database"}, []string{"containers", "available", "--container=mysql-database"}},
		{"dysnomia-containers", []string{"--query-activated-components"}, []string{"containers", "activated"}},
		{"dysnomia-containers", []string{"-o", "lock", "-C", "x"}, []string{"containers", "run", "--operation=lock", "--container=x"}},
		{"dysnomia-containers", []string{"--deploy"}, []string{"containers", "deploy"}},
		{"dysnomia-containers", []string{"--restore", "-y"}, []string{"containers", "restore", "--yes"}},
		{"dysnomia-containers", []string{"--snapshot", "-y"}, []string{"containers", "snapshot"}},
		{"dysnomia-containers", []string{"--collect-garbage", "-C", "c"}, []string{"containers", "collect-garbage", "--container=c"}},
		{"dysnomia-containers", []string{"--generate-expr", "-C", "ignored"}, []string{"containers", "generate-expr"}},
		{"dysnomia-containers", []string{"--generate-dot"}, []string{"containers", "generate-dot"}},
		{"dysnomia-containers", []string{"--generate-expr", "--shell-values", "literal"}, []string{"containers", "generate-expr", "--shell-values=literal"}},
		{"dysnomia-containers", []string{"--deploy", "--dry-run", "--json"}, []string{"containers", "deploy", "--dry-run", "--json"}},
		{"dysnomia-containers", []string{"--query-available-components", "--json", "-C", "c"}, []string{"containers", "available", "--container=c", "--json"}},
		{"dysnomia-containers", []string{"-v"}, []string{"version"}},
	}
	for _, tt := range tests {
		t.Run(tt.prog+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := translate(tt.prog, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("translate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		prog string
		args []string
		want string
	}{
		{"dysnomia", []string{"-c", "x", "-C", "y"}, "no operation given"},
		{"dysnomia", []string{"-o", "frobnicate", "-c", "x"}, `unknown activity "frobnicate"`},
		{"dysnomia-snapshots", []string{"-C", "x"}, "no operation given"},
		{"dysnomia-snapshots", []string{"--bogus"}, "unrecognized option '--bogus'"},
		{"dysnomia-snapshots", []string{"--query"}, "option '--query' is ambiguous"},
		{"dysnomia-containers", []string{"-y"}, "no action given"},
		{"dysnomia-containers", []string{"-o"}, "requires an argument"},
		{"dysnomia-addgroups", []string{"-x"}, "dysnomia-addgroups: "},
		{"dysnomia-addusers", nil, "no path given"},
	}
	for _, tt := range tests {
		_, err := translate(tt.prog, tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("translate(%s %q) error = %v, want %q", tt.prog, tt.args, err, tt.want)
		}
	}
}
