package system

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
)

// TestRenderPropertiesRoundTrip: what the views write reads back, value for
// value, with the container file parser (in its default mode, which refuses
// anything that would need shell evaluation).
func TestRenderPropertiesRoundTrip(t *testing.T) {
	ps := config.Properties{
		{Key: "plain", Values: []string{"postgres"}},
		{Key: "spaces", Values: []string{"a value with  spaces"}},
		{Key: "quotes", Values: []string{`say "hi" and 'bye'`}},
		{Key: "dollar", Values: []string{"$(rm -rf /) ${HOME} $PATH `id`"}},
		{Key: "backslash", Values: []string{`C:\path\ end\`}},
		{Key: "hash", Values: []string{"# not a comment"}},
		{Key: "newline", Values: []string{"line 1\nline 2"}},
		{Key: "empty", Values: []string{""}},
		{Key: "list", Values: []string{"postgresql-database", "a b", `x"y`}, List: true},
		{Key: "emptyList", Values: []string{}, List: true},
	}
	text := RenderProperties(ps)
	got, err := config.Parse("rendered", []byte(text), config.ShellReject)
	if err != nil {
		t.Fatalf("parse the rendered properties: %v\n%s", err, text)
	}
	if d := cmp.Diff(ps, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s\nrendered:\n%s", d, text)
	}
}

func TestViews(t *testing.T) {
	t.Setenv("NIX_STORE_DIR", "")
	cfg, err := config.LoadSystem("../config/testdata/system/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Containers["postgresql-database"].SecretFiles = map[string]string{"postgresqlPasswordFile": "/run/keys/pg"}
	state := t.TempDir()
	v := RenderViews(cfg)
	changed, err := v.Write(state)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, %v", changed, err)
	}
	dir := ViewsDir(state)
	read := func(rel string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	wantContainer := `postgresqlPasswordFile="/run/keys/pg"
postgresqlPort="5432"
postgresqlUsername="postgres"
type="postgresql-database"
`
	if d := cmp.Diff(wantContainer, read("containers/postgresql-database")); d != "" {
		t.Errorf("container file (-want +got):\n%s", d)
	}
	wantProps := `hostname="db1"
supportedTypes=("postgresql-database" "fileset" )
system="x86_64-linux"
`
	if d := cmp.Diff(wantProps, read("properties")); d != "" {
		t.Errorf("properties file (-want +got):\n%s", d)
	}
	if target, err := os.Readlink(filepath.Join(dir, "components", "postgresql-database", "app")); err != nil || target != "/nix/store/8ab6b9yv6v1z3r2m1w6m4m0w5l9l2x7c-app" {
		t.Errorf("component link -> %q, %v", target, err)
	}

	// The container file is one the rest of dysnomia reads.
	c, err := config.LoadContainer(filepath.Join(dir, "containers", "postgresql-database"), config.ShellReject)
	if err != nil {
		t.Fatal(err)
	}
	if c.Type != "postgresql-database" || c.Properties.Lookup("postgresqlPasswordFile") != "/run/keys/pg" {
		t.Errorf("container read back: %+v", c)
	}
	// And so is the components directory.
	avail, warnings, err := deploy.Available([]string{filepath.Join(dir, "components")}, "")
	if err != nil || len(warnings) != 0 || len(avail) != 1 || avail[0].Key.String() != "postgresql-database/app" {
		t.Errorf("available: %+v %v %v", avail, warnings, err)
	}

	// Same content: nothing written. Other content: replaced, old removed.
	if changed, err := RenderViews(cfg).Write(state); err != nil || changed {
		t.Errorf("second write: changed %v, %v", changed, err)
	}
	cfg.Properties = nil
	if changed, err := RenderViews(cfg).Write(state); err != nil || !changed {
		t.Errorf("third write: changed %v, %v", changed, err)
	}
	if got := read("properties"); got != "" {
		t.Errorf("properties after the change: %q", got)
	}
	entries, err := os.ReadDir(Dir(state))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "etc" {
		t.Errorf("system dir holds %v, want etc and the one directory it points to", names)
	}
}
