package nix

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The NixOS module evaluated as a whole: nixos-module/default.nix with
// the stand-in lib (testdata/nixos/lib.nix), stubs of the nixpkgs modules
// it meets (testdata/nixos/modules, each naming the nixpkgs file it
// mirrors) and a stub package set. Nothing is built; the tests read the
// evaluated configuration.

// evalNixOS evaluates the configuration cfg (a Nix module expression; pkgs
// and lib are in scope) with evalArgs (extra attributes of eval.nix's
// argument, e.g. `ours = false;`) and returns the JSON of the Nix
// expression summary, a function of the evaluation result e (with e.config,
// e.options, e.warnings, e.failedAssertions).
func evalNixOS(t *testing.T, cfg, evalArgs, summary string) []byte {
	t.Helper()
	out, err := tryEvalNixOS(t, cfg, evalArgs, summary)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tryEvalNixOS(t *testing.T, cfg, evalArgs, summary string) ([]byte, error) {
	t.Helper()
	expr := `let
	  lib = import ` + file("tests/nix/testdata/nixos/lib.nix") + `;
	  pkgs = import ` + file("tests/nix/testdata/nixos/pkgs.nix") + ` { inherit lib; };
	  e = import ` + file("tests/nix/testdata/nixos/eval.nix") + ` { modules = [ (` + cfg + `) ]; ` + evalArgs + ` };
	  summary = ` + summary + `;
	in summary e`
	return tryInstantiate(t, "--eval", "--strict", "--json", "--expr", expr)
}

// decodeInto unmarshals JSON into v or fails the test.
func decodeInto(t *testing.T, what string, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, data)
	}
}

// TestStandInLib checks the stand-in lib on the behaviours the module
// tests rely on, with nixpkgs' messages: a definition of an option that
// does not exist is an error, also under a false mkIf; priorities; a
// renamed option forwards its value and warns; a removed one fails an
// assertion; coercedTo and submodules with `name`.
func TestStandInLib(t *testing.T) {
	lib := "import " + file("tests/nix/testdata/nixos/lib.nix")
	decl := `{ lib, ... }: {
	  options.warnings = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; };
	  options.assertions = lib.mkOption { type = lib.types.listOf lib.types.unspecified; default = [ ]; };
	  options.a.n = lib.mkOption { type = lib.types.int; default = 1; };
	  options.a.s = lib.mkOption { type = lib.types.attrsOf (lib.types.coercedTo lib.types.str (v: { v = v; }) (lib.types.submodule ({ name, ... }: {
	    options.v = lib.mkOption { type = lib.types.str; };
	    options.name = lib.mkOption { type = lib.types.str; default = name; };
	  }))); default = { }; };
	}`
	eval := func(mods string) string {
		return `let lib = ` + lib + `; e = lib.evalModules { modules = [ (` + decl + `) ] ++ ` + mods + `; }; in
		  { inherit (e.config) a warnings; failed = map (x: x.message) (builtins.filter (x: !x.assertion) e.config.assertions); }`
	}
	for _, tc := range []struct {
		name, mods string
		want       string // JSON, or "" for an error
		inErr      string
	}{
		{"priorities", `[ { a.n = lib.mkDefault 2; } { a.n = 3; } ]`, `{"a":{"n":3,"s":{}},"failed":[],"warnings":[]}`, ""},
		{"coerced and submodule name", `[ { a.s.x = "old"; a.s.y.v = "new"; } ]`, `{"a":{"n":1,"s":{"x":{"name":"x","v":"old"},"y":{"name":"y","v":"new"}}},"failed":[],"warnings":[]}`, ""},
		{"renamed", `[ (lib.mkRenamedOptionModule [ "b" ] [ "a" "n" ]) { _file = "/etc/nixos/c.nix"; b = 7; } ]`,
			`{"a":{"n":7,"s":{}},"failed":[],"warnings":["The option ` + "`b' defined in `/etc/nixos/c.nix' has been renamed to `a.n'." + `"]}`, ""},
		{"removed", `[ (lib.mkRemovedOptionModule [ "c" ] "Use a.n.") { _file = "/etc/nixos/c.nix"; c = 1; } ]`,
			`{"a":{"n":1,"s":{}},"failed":["The option definition ` + "`c' in `/etc/nixos/c.nix' no longer has any effect; please remove it.\\nUse a.n.\\n" + `"],"warnings":[]}`, ""},
		{"unknown option", `[ { _file = "/etc/nixos/c.nix"; a.m = 1; } ]`, "", "The option `a.m' does not exist. Definition values:"}, {"unknown option names the file", `[ { _file = "/etc/nixos/c.nix"; a.m = 1; } ]`, "", "- In `/etc/nixos/c.nix': 1"},
		{"unknown option under a false mkIf", `[ { config = lib.mkIf false { a.m = 1; }; } ]`, "", "The option `a.m' does not exist."},
		{"wrong type", `[ { a.n = "x"; } ]`, "", "A definition for option `a.n' is not of type `signed integer'."},
		{"conflict", `[ { a.s.x.v = "1"; } { a.s.x.v = "2"; } ]`, "", "The option `a.s.x.v' has conflicting definition values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tryInstantiate(t, "--eval", "--strict", "--json", "--expr", eval(tc.mods))
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.inErr) {
					t.Fatalf("got %s, %v; want an error with %q", out, err, tc.inErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// baseConfig is a configuration as this module's users write it: both
// database servers, a component in each.
const baseConfig = `{ pkgs, ... }: {
  services.postgresql.enable = true;
  services.mysql.enable = true;
  services.mysql.package = pkgs.mariadb;
  services.dysnomia = {
    enable = true;
    components.postgresql-database.app.sql = "CREATE TABLE visits (id serial PRIMARY KEY);";
    components.mysql-database.shop.sql = "CREATE TABLE orders (id INT PRIMARY KEY);";
  };
}`

// TestModuleEvaluates: the module, with the stubs of nixpkgs' modules,
// evaluates without an assertion failure or a warning, replaces nixpkgs'
// services.dysnomia (its stub is disabled, else the options would be
// declared twice), and generates the containers of the enabled servers.
func TestModuleEvaluates(t *testing.T) {
	var got struct {
		Warnings, Failed, Containers, Etc []string
		After                             []string
		ExecStart                         string
	}
	decodeInto(t, "evaluation", evalNixOS(t, baseConfig, "", `e: {
	  Warnings = e.warnings;
	  Failed = e.failedAssertions;
	  Containers = builtins.attrNames e.config.services.dysnomia.containers;
	  Etc = builtins.attrNames e.config.environment.etc;
	  After = e.config.systemd.services.dysnomia.after;
	  ExecStart = e.config.systemd.services.dysnomia.serviceConfig.ExecStart;
	}`), &got)
	if len(got.Warnings) != 0 || len(got.Failed) != 0 {
		t.Errorf("warnings %q, failed assertions %q; want none", got.Warnings, got.Failed)
	}
	for _, want := range []string{"mysql-database", "postgresql-database"} {
		if !contains(got.Containers, want) {
			t.Errorf("containers %q: no %s", got.Containers, want)
		}
	}
	for _, want := range []string{"dysnomia/system.json", "dysnomia/properties", "dysnomia/containers/postgresql-database", "dysnomia/components/postgresql-database/app", "dysnomia/components/mysql-database/shop"} {
		if !contains(got.Etc, want) {
			t.Errorf("environment.etc %q: no %s", got.Etc, want)
		}
	}
	if !contains(got.After, "postgresql.target") || !contains(got.After, "mysql.service") {
		t.Errorf("dysnomia.service after %q, want postgresql.target and mysql.service", got.After)
	}
	if !strings.Contains(got.ExecStart, "/bin/dysnomia system switch --config /nix/store/") {
		t.Errorf("ExecStart = %q", got.ExecStart)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// The containers of the state servers nixpkgs has modules for are
// generated from those modules' options — the settings their units run
// with — and the system config that results is one the binary takes.
func TestStateServerContainers(t *testing.T) {
	cfg := `{ pkgs, ... }: {
	  services.influxdb.enable = true;
	  services.influxdb.extraConfig.http.bind-address = "127.0.0.1:8087";
	  services.ejabberd.enable = true;
	  services.ejabberd.configFile = "/etc/ejabberd.yml";
	  services.ejabberd.ctlConfig = "ERLANG_NODE=ejabberd@localhost";
	  services.svnserve.enable = true;
	  services.svnserve.svnBaseDir = "/srv/svn";
	  services.dysnomia.enable = true;
	}`
	var got struct {
		Warnings, Failed []string
		Containers       map[string]struct {
			Type       string
			Properties map[string]string
			Server     string
		}
		Ctl    string
		Config string
	}
	decodeInto(t, "evaluation", evalNixOS(t, cfg, "", `e: {
	  Warnings = e.warnings;
	  Failed = e.failedAssertions;
	  Containers = builtins.mapAttrs (n: c: { Type = c.type; Properties = builtins.mapAttrs (_: toString) c.properties; Server = toString c.serverPackage; })
	    (e.lib.filterAttrs (n: _: builtins.elem n [ "influx-database" "ejabberd-dump" "subversion-repository" ]) e.config.services.dysnomia.containers);
	  Ctl = e.pkgs.writeText "ejabberdctl.cfg" "ERL_EPMD_ADDRESS=127.0.0.1\nERLANG_NODE=ejabberd@localhost\n";
	  Config = e.config.system.build.dysnomiaConfig.text;
	}`), &got)
	if len(got.Warnings) != 0 || len(got.Failed) != 0 {
		t.Errorf("warnings %q, failed assertions %q", got.Warnings, got.Failed)
	}
	influx, ej, svn := got.Containers["influx-database"], got.Containers["ejabberd-dump"], got.Containers["subversion-repository"]
	if influx.Type != "influx-database" || influx.Properties["influxdbHttpPort"] != "8087" || influx.Properties["influxdbPort"] != "8088" ||
		influx.Properties["influxdbHost"] != "127.0.0.1" || influx.Properties["influxdbUsername"] != "influxdb" || !strings.Contains(influx.Server, "influxdb-") {
		t.Errorf("influx-database: %+v", influx)
	}
	if ej.Type != "ejabberd-dump" || ej.Properties["ejabberdUser"] != "ejabberd" || ej.Properties["ejabberdSpoolDir"] != "/var/lib/ejabberd" ||
		ej.Properties["ejabberdConfig"] != "/etc/ejabberd.yml" || ej.Properties["ejabberdctlConfig"] != got.Ctl ||
		!strings.HasSuffix(ej.Properties["ejabberdctl"], "/bin/ejabberdctl") {
		t.Errorf("ejabberd-dump: %+v (ctl config of nixpkgs' unit: %s)", ej, got.Ctl)
	}
	if _, ok := ej.Properties["ejabberdConfigDir"]; ok {
		t.Errorf("ejabberd-dump: ejabberdConfigDir set although services.ejabberd.configDir is null")
	}
	if svn.Type != "subversion-repository" || svn.Properties["svnBaseDir"] != "/srv/svn" || !strings.Contains(svn.Server, "subversion-") {
		t.Errorf("subversion-repository: %+v", svn)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "system.json")
	if err := os.WriteFile(cfgFile, []byte(got.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := buildDysnomia(t, need(t, "go"))
	if out, err := exec.Command(filepath.Join(pkg, "bin", "dysnomia"), "system", "check", cfgFile).CombinedOutput(); err != nil {
		t.Errorf("dysnomia system check: %v\n%s\n%s", err, out, got.Config)
	}

	// Without those services, no such containers.
	var none struct{ Containers []string }
	decodeInto(t, "evaluation", evalNixOS(t, `{ ... }: { services.dysnomia.enable = true; }`, "", `e: {
	  Containers = builtins.attrNames e.config.services.dysnomia.containers;
	}`), &none)
	for _, c := range none.Containers {
		if c == "influx-database" || c == "ejabberd-dump" || c == "subversion-repository" {
			t.Errorf("container %s generated without its service", c)
		}
	}
}
