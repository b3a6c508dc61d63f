package nix

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// disnixView is what Disnix and the users of nixpkgs' services.dysnomia
// rely on, as testdata/nixos/fixtures/disnix-summary.nix reads it.
type disnixView struct {
	Warnings                  []string
	FailedAssertions          []string
	Etc                       []string
	Variables                 map[string]string
	DisnixWants               []string
	DisnixEnvironment         map[string]string
	DisnixPathHasPackage      bool
	SystemPackagesHavePackage bool
	ExtraSystemdUnitPaths     []string
	ActivationWritesTarget    bool
	Containers                []string
	Properties                map[string]any
}

func evalNixpkgsUser(t *testing.T, ours bool) disnixView {
	t.Helper()
	arg := "ours = false;"
	if ours {
		arg = "ours = true;"
	}
	var v disnixView
	decodeInto(t, "evaluation", evalNixOS(t, file("tests/nix/testdata/nixos/fixtures/nixpkgs-user.nix"), arg,
		"import "+file("tests/nix/testdata/nixos/fixtures/disnix-summary.nix")), &v)
	return v
}

// TestNixpkgsDysnomiaUsers: a configuration written for nixpkgs' own
// services.dysnomia, with Disnix (testdata/nixos/fixtures/nixpkgs-user.nix),
// evaluates against nixpkgs' module (its stub: the fixture is valid there)
// and against this project's module with no error and with warnings that
// name the replacements; and what Disnix relies on is the same in both:
// disnix.service wants dysnomia.target, the mutable unit directory is a
// unit path and the activation writes the target there, the search paths
// in the login environment and in disnix.service, the package on both
// PATHs, the containers and the machine properties.
func TestNixpkgsDysnomiaUsers(t *testing.T) {
	theirs := evalNixpkgsUser(t, false)
	ours := evalNixpkgsUser(t, true)

	renamed := "The option `dysnomia' defined in `" + file("tests/nix/testdata/nixos/fixtures/nixpkgs-user.nix") + "' has been renamed to `services.dysnomia'."
	if len(theirs.FailedAssertions) != 0 || !cmp.Equal(theirs.Warnings, []string{renamed}) {
		t.Fatalf("the fixture against nixpkgs' module: failed assertions %q, warnings %q; want none and the rename of `dysnomia'", theirs.FailedAssertions, theirs.Warnings)
	}
	if len(ours.FailedAssertions) != 0 {
		t.Errorf("failed assertions: %q", ours.FailedAssertions)
	}
	// Every warning names what to write instead.
	wantWarnings := []string{
		renamed,
		"The option `services.dysnomia.extraContainerProperties' defined in `" + file("tests/nix/testdata/nixos/fixtures/nixpkgs-user.nix") + "' has been renamed to `services.dysnomia.containers'.",
		"The option `services.dysnomia.enableAuthentication' has no effect with this Dysnomia and can be removed: the generated containers always log in as postgres (PostgreSQL, peer authentication) and root (MySQL, socket authentication), and no password is ever written into the configuration. For another login set services.dysnomia.containers.<name>.properties.postgresqlUsername or mysqlUsername, with services.dysnomia.containers.<name>.passwordFile.",
		"The option `services.dysnomia.enableLegacyModules' (also `dysnomia.enableLegacyModules') has no effect with this Dysnomia and can be removed: the process and wrapper modules are always built in.",
		"services.dysnomia.containers.fileset: targetDir given in the form of nixpkgs' module for upstream Dysnomia; write services.dysnomia.containers.fileset.properties.targetDir (and so on) instead; the type is services.dysnomia.containers.fileset.type (default: the name).",
		"services.dysnomia.containers.postgresql-database: postgresqlPort given in the form of nixpkgs' module for upstream Dysnomia; write services.dysnomia.containers.postgresql-database.properties.postgresqlPort (and so on) instead; the type is services.dysnomia.containers.postgresql-database.type (default: the name).",
	}
	if diff := cmp.Diff(sorted(wantWarnings), sorted(ours.Warnings)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	same := func(what string, a, b any) {
		t.Helper()
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%s differs from nixpkgs' module (-nixpkgs +ours):\n%s", what, diff)
		}
	}
	same("disnix.service wants", theirs.DisnixWants, ours.DisnixWants)
	same("boot.extraSystemdUnitPaths", theirs.ExtraSystemdUnitPaths, ours.ExtraSystemdUnitPaths)
	same("the activation writes dysnomia.target", theirs.ActivationWritesTarget, ours.ActivationWritesTarget)
	same("the package on disnix.service's PATH", theirs.DisnixPathHasPackage, ours.DisnixPathHasPackage)
	same("the package in systemPackages", theirs.SystemPackagesHavePackage, ours.SystemPackagesHavePackage)
	same("containers", theirs.Containers, ours.Containers)
	same("properties", theirs.Properties, ours.Properties)
	for _, v := range []string{"DYSNOMIA_CONTAINERS_PATH", "DYSNOMIA_MODULES_PATH"} {
		same("environment.variables."+v, theirs.Variables[v], ours.Variables[v])
		same("disnix.service's "+v, theirs.DisnixEnvironment[v], ours.DisnixEnvironment[v])
	}
	for _, want := range []bool{ours.DisnixPathHasPackage, ours.SystemPackagesHavePackage, ours.ActivationWritesTarget} {
		if !want {
			t.Errorf("missing what Disnix relies on: %+v", ours)
			break
		}
	}
	if !contains(ours.DisnixWants, "dysnomia.target") || !contains(ours.ExtraSystemdUnitPaths, "/etc/systemd-mutable/system") {
		t.Errorf("disnix.service wants %q, unit paths %q", ours.DisnixWants, ours.ExtraSystemdUnitPaths)
	}

	// Snapshots: Disnix's go where the login shells' do, the state
	// directory (nixpkgs' module gave disnix.service no DYSNOMIA_STATEDIR,
	// so Disnix used the tool's default, /var/state/dysnomia, while login
	// shells used /var/state/dysnomia-nixos).
	if theirs.Variables["DYSNOMIA_STATEDIR"] != "/var/state/dysnomia-nixos" || theirs.DisnixEnvironment["DYSNOMIA_STATEDIR"] != "" {
		t.Errorf("nixpkgs' stub: DYSNOMIA_STATEDIR %q, disnix.service's %q", theirs.Variables["DYSNOMIA_STATEDIR"], theirs.DisnixEnvironment["DYSNOMIA_STATEDIR"])
	}
	if ours.Variables["DYSNOMIA_STATEDIR"] != "/var/state/dysnomia" || ours.DisnixEnvironment["DYSNOMIA_STATEDIR"] != "/var/state/dysnomia" {
		t.Errorf("DYSNOMIA_STATEDIR %q, disnix.service's %q; want /var/state/dysnomia for both", ours.Variables["DYSNOMIA_STATEDIR"], ours.DisnixEnvironment["DYSNOMIA_STATEDIR"])
	}

	for _, want := range []string{"dysnomia/properties", "dysnomia/containers/fileset", "dysnomia/containers/process", "dysnomia/containers/wrapper", "dysnomia/components/fileset/website", "dysnomia/components/mysql-database/shop"} {
		if !contains(ours.Etc, want) {
			t.Errorf("environment.etc has no %s: %q", want, ours.Etc)
		}
	}
}

// TestNixpkgsDysnomiaUsersFiles: what the old-form configuration becomes is
// what the binary takes: the system config passes `dysnomia system check`,
// and the container files read back with the old properties, their types
// being their names.
func TestNixpkgsDysnomiaUsersFiles(t *testing.T) {
	var got struct {
		Config     string
		Containers map[string]string
		Components map[string]string
	}
	decodeInto(t, "evaluation", evalNixOS(t, file("tests/nix/testdata/nixos/fixtures/nixpkgs-user.nix"), "", `e: {
	  Config = e.config.system.build.dysnomiaConfig.text;
	  Containers = e.lib.mapAttrs' (n: v: e.lib.nameValuePair (e.lib.removePrefix "dysnomia/containers/" n) v.text)
	    (e.lib.filterAttrs (n: _: e.lib.hasPrefix "dysnomia/containers/" n) e.config.environment.etc);
	  Components = e.lib.mapAttrs (n: v: toString v.source)
	    (e.lib.filterAttrs (n: _: e.lib.hasPrefix "dysnomia/components/" n) e.config.environment.etc);
	}`), &got)

	dir := t.TempDir()
	pkg := buildDysnomia(t, need(t, "go"))
	cfgFile := filepath.Join(dir, "system.json")
	if err := os.WriteFile(cfgFile, []byte(got.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(pkg, "bin", "dysnomia"), "system", "check", cfgFile).CombinedOutput(); err != nil {
		t.Errorf("dysnomia system check: %v\n%s\n%s", err, out, got.Config)
	}
	sys, err := config.DecodeSystem([]byte(got.Config))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"fileset/website", "mysql-database/shop"} {
		c, n, _ := strings.Cut(k, "/")
		comp, ok := sys.Components[c][n]
		if !ok || !strings.HasSuffix(comp.Path, "-"+n) || got.Components["dysnomia/components/"+k] != comp.Path {
			t.Errorf("component %s: %+v in the config, %q in /etc", k, comp, got.Components["dysnomia/components/"+k])
		}
	}

	want := map[string]map[string]string{
		"fileset":             {"targetDir": "/srv/www", "type": "fileset"},
		"postgresql-database": {"postgresqlPort": "5432", "postgresqlUsername": "postgres", "type": "postgresql-database"},
		"mysql-database":      {"mysqlUsername": "root", "mysqlSocket": "/run/mysqld/mysqld.sock", "type": "mysql-database"},
		"process":             {"type": "process"},
		"wrapper":             {"type": "wrapper"},
	}
	for name, props := range want {
		ps, err := config.Parse(name, []byte(got.Containers[name]), config.ShellReject)
		if err != nil {
			t.Errorf("container %s: %v\n%s", name, err, got.Containers[name])
			continue
		}
		for k, v := range props {
			if p, ok := ps.Get(k); !ok || p != v {
				t.Errorf("container %s: %s = %q, want %q\n%s", name, k, p, v, got.Containers[name])
			}
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// TestOldFormErrors: the old forms are still checked: a password among the
// old-form properties is refused by name (nixpkgs' module put the MySQL
// root password into the store), and a component that is neither a
// derivation nor a set of options is a type error naming the option.
func TestOldFormErrors(t *testing.T) {
	var failed []string
	decodeInto(t, "evaluation", evalNixOS(t, `{ pkgs, ... }: {
	  services.mysql = { enable = true; package = pkgs.mariadb; };
	  services.dysnomia.enable = true;
	  services.dysnomia.containers.mysql-database.mysqlPassword = "hunter2";
	}`, "", `e: e.failedAssertions`), &failed)
	if len(failed) != 1 || !strings.Contains(failed[0], "services.dysnomia.containers.mysql-database.properties.mysqlPassword: a password must not be written into the configuration") {
		t.Errorf("failed assertions %q", failed)
	}
	_, err := tryEvalNixOS(t, `{ ... }: {
	  services.dysnomia.enable = true;
	  services.dysnomia.containers.files.type = "fileset";
	  services.dysnomia.components.files.site = "site";
	}`, "", `e: e.config.services.dysnomia.components`)
	if err == nil || !strings.Contains(err.Error(), "A definition for option `services.dysnomia.components.files.site' is not of type") {
		t.Errorf("a string component: %v", err)
	}
}
