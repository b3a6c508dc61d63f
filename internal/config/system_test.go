package config

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func prop(k string, v ...string) Property { return Property{Key: k, Values: v} }

// TestSystemGolden is the contract with the NixOS module: the golden file,
// which is the example of docs/system-config.md and what the module's
// projection must produce for its fixture, decodes and validates.
func TestSystemGolden(t *testing.T) {
	t.Setenv("NIX_STORE_DIR", "")
	s, err := LoadSystem("testdata/system/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	want := &System{
		Version:  1,
		StateDir: "/var/state/dysnomia",
		Properties: Properties{
			prop("hostname", "db1"),
			{Key: "supportedTypes", Values: []string{"postgresql-database", "fileset"}, List: true},
			prop("system", "x86_64-linux"),
		},
		Containers: map[string]*SystemContainer{
			"postgresql-database": {
				Type:          "postgresql-database",
				Properties:    Properties{prop("postgresqlPort", "5432"), prop("postgresqlUsername", "postgres")},
				ServerPackage: "/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-postgresql-16.4",
			},
		},
		Components: map[string]map[string]*SystemComponent{
			"postgresql-database": {
				"app": {
					Path:       "/nix/store/8ab6b9yv6v1z3r2m1w6m4m0w5l9l2x7c-app",
					Properties: Properties{prop("postgresqlOwner", "app")},
				},
			},
		},
		Snapshots: SnapshotPolicy{BeforeUpgrade: "changed", Keep: 10, OnFailure: "abort", OnBoot: "snapshot", RestoreAfterUpgrade: true},
		Garbage:   GarbagePolicy{Removed: "keep"},
	}
	if d := cmp.Diff(want, s); d != "" {
		t.Errorf("golden config (-want +got):\n%s", d)
	}
}

// TestSystemGoldenIsTheDocExample keeps the golden file and the documented
// example the same, byte for byte.
func TestSystemGoldenIsTheDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/system-config.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Example\n\n```json\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/system-config.md has no ## Example json block")
	}
	golden, err := os.ReadFile("testdata/system/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(m[1]), string(golden)); d != "" {
		t.Errorf("golden.json differs from the documented example (-doc +golden):\n%s", d)
	}
}

func TestSystemDefaults(t *testing.T) {
	s, err := DecodeSystem([]byte(`{"version": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &System{
		Version:    1,
		Containers: map[string]*SystemContainer{},
		Components: map[string]map[string]*SystemComponent{},
		Snapshots:  SnapshotPolicy{BeforeUpgrade: "changed", Keep: 0, OnFailure: "abort", OnBoot: "snapshot", RestoreAfterUpgrade: true},
		Garbage:    GarbagePolicy{Removed: "keep"},
	}
	if d := cmp.Diff(want, s); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestSystemValues(t *testing.T) {
	t.Setenv("NIX_STORE_DIR", "")
	s, err := DecodeSystem([]byte(`{
		"version": 1,
		"properties": {"mem": 2048, "ratio": 1.5, "big": true, "small": false, "empty": [], "s": "a \"q\" $(x) \\"},
		"containers": {
			"files": {"type": "fileset", "properties": {"targetDir": "/srv/files"}},
			"pg": {"type": "postgresql-database", "secretFiles": {"postgresqlPasswordFile": "/run/keys/pg//pw"}}
		},
		"components": {"files": {"web-data": {"path": "/srv/components/web-data/"}}},
		"snapshots": {"beforeUpgrade": "always", "keep": 3, "onFailure": "continue", "onBoot": "skip", "restoreAfterUpgrade": false},
		"garbage": {"removed": "delete"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	wantProps := Properties{
		prop("big", "true"),
		{Key: "empty", Values: []string{}, List: true},
		prop("mem", "2048"),
		prop("ratio", "1.5"),
		prop("s", `a "q" $(x) \`),
		prop("small", "false"),
	}
	if d := cmp.Diff(wantProps, s.Properties); d != "" {
		t.Errorf("properties (-want +got):\n%s", d)
	}
	if got := s.Containers["pg"].SecretFiles; !cmp.Equal(got, map[string]string{"postgresqlPasswordFile": "/run/keys/pg/pw"}) {
		t.Errorf("secret files = %v", got)
	}
	if got := s.Components["files"]["web-data"].Path; got != "/srv/components/web-data" {
		t.Errorf("component path = %q, want it cleaned", got)
	}
	if d := cmp.Diff(SnapshotPolicy{"always", 3, "continue", "skip", false}, s.Snapshots); d != "" {
		t.Errorf("snapshots (-want +got):\n%s", d)
	}
	if s.Garbage.Removed != "delete" {
		t.Errorf("garbage.removed = %q", s.Garbage.Removed)
	}
	if d := cmp.Diff([]string{"files", "pg"}, s.ContainerNames()); d != "" {
		t.Error(d)
	}
}

// TestSystemProblems gives configs with several mistakes each and compares
// every reported problem, with its path, in document order.
func TestSystemProblems(t *testing.T) {
	t.Setenv("NIX_STORE_DIR", "")
	cases := []struct {
		name string
		json string
		want []string
	}{
		{
			name: "many mistakes at once",
			json: `{
				"version": 1,
				"stateDir": "var/state",
				"colour": "blue",
				"properties": {"hostname": 7, "bad-key": "x", "list": ["a", 2], "obj": {}},
				"containers": {
					"pg": {"typ": "postgresql-database", "properties": {"type": "x", "port": null},
					       "secretFiles": {"pw": "relative/pw", "storePw": "/nix/store/abc-pw", "dup": "/run/keys/a"},
					       "serverPackage": 16},
					"bad name": {"type": "echo"},
					"ok": {"type": "echo", "properties": {"dup": "1"}, "secretFiles": {"dup": "/run/keys/a"}}
				},
				"components": {
					"pg": {"app": {"path": "/nix/store/8ab6b9yv6v1z3r2m1w6m4m0w5l9l2x7c-app", "owner": "me"}},
					"nowhere": {"x": {"path": "/srv/x"}},
					"ok": {"y": {"path": "relative"}, "z": {}, "w": {"path": "/srv/other"}}
				},
				"snapshots": {"beforeUpgrade": "sometimes", "keep": -1, "onFailure": true, "onBoot": "skip", "restoreAfterUpgrade": "yes", "extra": 1},
				"garbage": {"removed": "shred"}
			}`,
			want: []string{
				`colour: unknown field (known fields: version, stateDir, properties, containers, components, snapshots, garbage)`,
				`stateDir: "var/state" is not an absolute path`,
				`properties["bad-key"]: invalid property name "bad-key": want letters, digits and _, not starting with a digit`,
				`properties["list"][1]: want a string, got a number`,
				`properties["obj"]: want a string, number, boolean or list of strings, got an object`,
				`containers["pg"].typ: unknown field (known fields: type, properties, secretFiles, serverPackage)`,
				`containers["pg"].type: missing (required): the module type, e.g. "postgresql-database"`,
				`containers["pg"].properties["type"]: "type" is not a property: it is the container's type field`,
				`containers["pg"].properties["port"]: want a string, number, boolean or list of strings, got null`,
				`containers["pg"].secretFiles["pw"]: "relative/pw" is not an absolute path`,
				`containers["pg"].secretFiles["storePw"]: "/nix/store/abc-pw" is in the Nix store, which every user can read: keep secrets outside it (e.g. /run/keys)`,
				`containers["pg"].serverPackage: want a string, got a number`,
				`containers["bad name"]: invalid container name "bad name": want letters, digits and . _ + - (not first: . + -)`,
				`containers["ok"].secretFiles["dup"]: also set in properties: a property is either a value or a secret file`,
				`components["pg"]["app"].owner: unknown field (known fields: path, properties)`,
				`components["nowhere"]: container "nowhere" is not declared in containers`,
				`components["ok"]["y"].path: "relative" is not an absolute path`,
				`components["ok"]["z"].path: missing (required): the component's path`,
				`components["ok"]["w"].path: "/srv/other" is named "other" (its base name without a store hash), not "w": the component's name must be the name of its path`,
				`snapshots.extra: unknown field (known fields: beforeUpgrade, keep, onFailure, onBoot, restoreAfterUpgrade)`,
				`snapshots.beforeUpgrade: "sometimes" is not one of "changed", "always", "never"`,
				`snapshots.onFailure: want a string, got a boolean`,
				`snapshots.restoreAfterUpgrade: want a boolean, got a string`,
				`snapshots.keep: -1 is not a whole number of generations ≥ 0`,
				`garbage.removed: "shred" is not one of "keep", "delete"`,
			},
		},
		{
			name: "missing version, wrong top-level types",
			json: `{"properties": [], "containers": "pg", "components": {"pg": 1}, "snapshots": null, "garbage": {"removed": "keep", "removed": "delete"}}`,
			want: []string{
				`version: missing (required): want 1`,
				`properties: want an object, got a list`,
				`containers: want an object, got a string`,
				`components["pg"]: container "pg" is not declared in containers`,
				`components["pg"]: want an object, got a number`,
				`snapshots: want an object, got null`,
				`garbage.removed: duplicate field`,
			},
		},
		{
			name: "duplicate keys in maps",
			json: `{"version": 1, "containers": {"e": {"type": "echo"}, "e": {"type": "echo"}}, "properties": {"a": "1", "a": "2"}}`,
			want: []string{
				`properties["a"]: duplicate key`,
				`containers["e"]: duplicate key`,
			},
		},
		{
			name: "another version stops at the version",
			json: `{"version": 2, "newField": {}}`,
			want: []string{`version: unsupported version 2: this dysnomia reads version 1`},
		},
		{
			name: "version of the wrong type",
			json: `{"version": "1"}`,
			want: []string{`version: want a number, got a string`},
		},
		{
			name: "not an object",
			json: `[1, 2]`,
			want: []string{`(top level): want an object, got a list`},
		},
		{
			name: "trailing data",
			json: "{\"version\": 1}\n{\"version\": 1}",
			want: []string{`(top level): trailing data after the top-level object at line 2, column 2`},
		},
		{
			name: "trailing garbage",
			json: `{"version": 1} x`,
			want: []string{`(top level): trailing data after the top-level object at line 1, column 16`},
		},
		{
			name: "syntax error",
			json: "{\"version\": 1,\n \"stateDir\" \"/x\"}",
			want: []string{`(top level): invalid JSON at line 2, column 13: invalid character '"' after object key`},
		},
		{
			name: "truncated",
			json: `{"version": 1, "containers": {`,
			want: []string{`(top level): unexpected end of input: not a complete JSON value`},
		},
		{
			name: "empty",
			json: ``,
			want: []string{`(top level): unexpected end of input: not a complete JSON value`},
		},
		{
			name: "NUL in a value and a bad type name",
			json: `{"version": 1, "containers": {"c": {"type": "../evil", "properties": {"x": "a\u0000b"}}}}`,
			want: []string{
				`containers["c"].type: invalid module type name "../evil": want letters, digits and . _ + - (not first: . + -)`,
				`containers["c"].properties["x"]: contains a NUL character`,
			},
		},
		{
			name: "keep must be whole",
			json: `{"version": 1, "snapshots": {"keep": 1.5}}`,
			want: []string{`snapshots.keep: 1.5 is not a whole number of generations ≥ 0`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := DecodeSystem([]byte(tc.json))
			var se *SystemError
			if !errors.As(err, &se) {
				t.Fatalf("DecodeSystem = %+v, %v; want a *SystemError", s, err)
			}
			if s != nil {
				t.Errorf("DecodeSystem returned a config along with errors")
			}
			got := make([]string, len(se.Problems))
			for i, p := range se.Problems {
				got[i] = p.String()
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestSystemErrorNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/system.json"
	if err := os.WriteFile(file, []byte(`{"version": 1, "a": 1, "b": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSystem(file)
	want := file + ": 2 problems:\n  a: unknown field (known fields: version, stateDir, properties, containers, components, snapshots, garbage)\n" +
		"  b: unknown field (known fields: version, stateDir, properties, containers, components, snapshots, garbage)"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if _, err := LoadSystem(dir + "/missing.json"); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

// TestSystemStoreDirSecrets: with NIX_STORE_DIR set, secrets below it are
// rejected too, and component names are taken without that store's hashes.
func TestSystemStoreDirSecrets(t *testing.T) {
	t.Setenv("NIX_STORE_DIR", "/tmp/teststore")
	_, err := DecodeSystem([]byte(`{"version": 1,
		"containers": {"c": {"type": "echo", "secretFiles": {"k": "/tmp/teststore/x"}}, "d": {"type": "echo"}},
		"components": {"d": {"app": {"path": "/tmp/teststore/0123456789abcdfghijklmnpqrsvwxyz-app"}}}}`))
	var se *SystemError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	want := []string{`containers["c"].secretFiles["k"]: "/tmp/teststore/x" is in the Nix store, which every user can read: keep secrets outside it (e.g. /run/keys)`}
	got := []string{}
	for _, p := range se.Problems {
		got = append(got, p.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

// FuzzDecodeSystem: any input gives a config or problems, never a panic,
// and an accepted config keeps the invariants the engine relies on.
func FuzzDecodeSystem(f *testing.F) {
	golden, err := os.ReadFile("testdata/system/golden.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"version": 1, "containers": {"e": {"type": "echo"}}, "components": {"e": {"x": {"path": "/x"}}}}`))
	f.Add([]byte(`{"version": 1, "properties": {"a": [1, "b"], "a": true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSystem(data)
		if err != nil {
			var se *SystemError
			if !errors.As(err, &se) || len(se.Problems) == 0 || s != nil {
				t.Fatalf("error %v (%T) with config %v", err, err, s)
			}
			return
		}
		if s.Version != SystemVersion {
			t.Fatalf("accepted version %d", s.Version)
		}
		for cname, comps := range s.Components {
			if s.Containers[cname] == nil {
				t.Fatalf("components of undeclared container %q accepted", cname)
			}
			for name, c := range comps {
				if NameOf(c.Path) != name || !namePattern.MatchString(name) {
					t.Fatalf("component %q with path %q accepted", name, c.Path)
				}
			}
		}
		for name, c := range s.Containers {
			if !namePattern.MatchString(name) || c.Type == "" || c.Properties.Has("type") {
				t.Fatalf("container %q %+v accepted", name, c)
			}
			for _, file := range c.SecretFiles {
				if inStore(file) {
					t.Fatalf("secret in the store accepted: %s", file)
				}
			}
		}
	})
}
