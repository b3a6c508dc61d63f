package nix

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// TestUpstreamFiles renders the upstream-compatible properties and
// container files (nixos-module/upstream-files.nix) for values that need
// quoting, and reads them back with the Go parser in its strict mode (which
// refuses anything that would need a shell): every value must come back
// exactly, lists as lists, and type= last.
func TestUpstreamFiles(t *testing.T) {
	input := `{
	  properties = {
	    hostname = "db1";
	    mem = 8192;
	    backup = true;
	    supportedTypes = [ "postgresql-database" "it's" "a b" ];
	    note = "say \"hi\" $(rm -rf /) ` + "`x`" + ` \\ back";
	    quote = "it's $HOME and \"this\" \\ \${x}";
	    empty = "";
	  };
	  containers = {
	    pg = {
	      type = "postgresql-database";
	      properties = { postgresqlPort = "5432"; postgresqlUsername = "postgres"; };
	      secretFiles = { postgresqlPasswordFile = "/run/keys/pg password"; };
	    };
	    files = { type = "fileset"; };
	  };
	}`
	rendered := decodeJSON(t, "upstream files",
		evalJSON(t, "import "+file("nixos-module/upstream-files.nix")+" "+input)).(map[string]any)

	parse := func(name, text string) config.Properties {
		t.Helper()
		ps, err := config.Parse(name, []byte(text), config.ShellReject)
		if err != nil {
			t.Fatalf("%s does not read back:\n%s\n%v", name, text, err)
		}
		return ps
	}
	scalar := func(k, v string) config.Property { return config.Property{Key: k, Values: []string{v}} }

	gotProps := parse("properties", rendered["properties"].(string))
	wantProps := config.Properties{
		scalar("backup", "true"),
		scalar("empty", ""),
		scalar("hostname", "db1"),
		scalar("mem", "8192"),
		scalar("note", "say \"hi\" $(rm -rf /) `x` \\ back"),
		scalar("quote", `it's $HOME and "this" \ ${x}`),
		{Key: "supportedTypes", Values: []string{"postgresql-database", "it's", "a b"}, List: true},
	}
	if diff := cmp.Diff(wantProps, gotProps); diff != "" {
		t.Errorf("properties (-want +got):\n%s\nrendered:\n%s", diff, rendered["properties"])
	}

	// Upstream's tools source these files with a shell: bash must read the
	// same values.
	if bash, err := exec.LookPath("bash"); err == nil {
		path := filepath.Join(t.TempDir(), "properties")
		if err := os.WriteFile(path, []byte(rendered["properties"].(string)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range wantProps {
			script := `. "$1" && printf '%s\x00' "${` + p.Key + `[@]}"`
			out, err := exec.Command(bash, "-c", script, "bash", path).Output()
			if err != nil {
				t.Fatalf("bash reading %s: %v", p.Key, err)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if diff := cmp.Diff(p.Values, got); diff != "" {
				t.Errorf("bash reads %s differently (-want +got):\n%s", p.Key, diff)
			}
		}
	}

	containers := rendered["containers"].(map[string]any)
	for name, want := range map[string]config.Properties{
		"pg": {
			scalar("postgresqlPasswordFile", "/run/keys/pg password"),
			scalar("postgresqlPort", "5432"),
			scalar("postgresqlUsername", "postgres"),
			scalar("type", "postgresql-database"),
		},
		"files": {scalar("type", "fileset")},
	} {
		text, _ := containers[name].(string)
		if diff := cmp.Diff(want, parse("containers/"+name, text)); diff != "" {
			t.Errorf("container %s (-want +got):\n%s\nrendered:\n%s", name, diff, text)
		}
	}
	if len(containers) != 2 {
		t.Errorf("rendered containers %v, want files and pg", containers)
	}
}
