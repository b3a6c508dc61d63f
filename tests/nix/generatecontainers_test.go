package nix

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// generateContainers evaluates share/dysnomia/generate-containers.nix the
// way disnixos does (import with config, lib and enableAuthentication) on
// a fixture configuration.
func generateContainers(t *testing.T, configExpr string, auth bool) map[string]map[string]any {
	t.Helper()
	expr := fmt.Sprintf("import %s { config = %s; lib = { }; enableAuthentication = %t; }", file("share/dysnomia/generate-containers.nix"), configExpr, auth)
	var got map[string]map[string]any
	if err := json.Unmarshal(evalJSON(t, expr), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// ourModule is a machine with this package's NixOS module enabled: the
// option values of services.dysnomia.containers as the module holds them
// (defaults applied), and system.build.dysnomiaConfig, which the module
// sets. services.postgresql is on too: the declared containers win over
// the generated ones.
const ourModule = `{
  system.build.dysnomiaConfig = "/nix/store/00000000000000000000000000000000-dysnomia-system.json";
  services.postgresql = { enable = true; settings.port = 5432; };
  services.dysnomia.containers = {
    postgresql-database = {
      type = "postgresql-database";
      properties = { postgresqlUsername = "postgres"; postgresqlPort = "5433"; };
      passwordFile = null; secretFiles = { }; serverPackage = null;
    };
    reporting = {
      type = "postgresql-database";
      properties = { postgresqlHost = "reports.internal"; postgresqlUsername = "dysnomia"; };
      passwordFile = "/run/keys/reporting"; secretFiles = { }; serverPackage = null;
    };
    uploads = {
      type = "fileset";
      properties = { targetDir = "/srv/uploads"; };
      passwordFile = null; secretFiles = { tokenFile = "/run/keys/token"; }; serverPackage = null;
    };
  };
}`

func TestGenerateContainersOurModule(t *testing.T) {
	want := map[string]map[string]any{
		"postgresql-database": {"postgresqlUsername": "postgres", "postgresqlPort": "5433"},
		"reporting":           {"postgresqlHost": "reports.internal", "postgresqlUsername": "dysnomia"},
		"uploads":             {"targetDir": "/srv/uploads"},
	}
	if d := cmp.Diff(want, generateContainers(t, ourModule, false)); d != "" {
		t.Errorf("without authentication (-want +got):\n%s", d)
	}
	want["reporting"]["postgresqlPasswordFile"] = "/run/keys/reporting"
	want["uploads"]["tokenFile"] = "/run/keys/token"
	if d := cmp.Diff(want, generateContainers(t, ourModule, true)); d != "" {
		t.Errorf("with authentication (-want +got):\n%s", d)
	}
}

// TestGenerateContainersMatchesContainerFiles: with authentication, the
// expression gives every container the module writes to
// /etc/dysnomia/containers (nixos-module/upstream-files.nix over the JSON
// projection), with the same properties but type — what
// dysnomia-containers --generate-expr prints on the machine.
func TestGenerateContainersMatchesContainerFiles(t *testing.T) {
	got := generateContainers(t, ourModule, true)
	files := decodeJSON(t, "container files", evalJSON(t, fmt.Sprintf(`
	  let
	    containers = (%s).services.dysnomia.containers;
	    projected = import %s {
	      stateDir = "/var/state/dysnomia"; properties = { }; inherit containers; components = { };
	      snapshots = { beforeUpgrade = "changed"; keep = 1; onFailure = "abort"; onBoot = "snapshot"; };
	      garbage = { removed = "keep"; };
	    };
	  in (import %s projected).containers`, ourModule, file("nixos-module/config-json.nix"), file("nixos-module/upstream-files.nix")))).(map[string]any)
	var names []string
	for name, text := range files {
		names = append(names, name)
		ps, err := config.Parse(name, []byte(text.(string)), config.ShellReject)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{}
		for _, p := range ps.Without("type") {
			want[p.Key] = p.Value()
		}
		if d := cmp.Diff(want, got[name]); d != "" {
			t.Errorf("container %s: expression vs container file (-file +expression):\n%s", name, d)
		}
	}
	sort.Strings(names)
	if d := cmp.Diff([]string{"postgresql-database", "reporting", "uploads"}, names); d != "" || len(got) != len(names) {
		t.Errorf("containers: files %v, expression %v", names, got)
	}
}

// TestGenerateContainersFromServices: without the module, the containers
// it would generate for the machine's services.
func TestGenerateContainersFromServices(t *testing.T) {
	machine := `{
	  services.postgresql = { enable = true; settings.port = 5433; package = "/nix/store/11111111111111111111111111111111-postgresql-16.4"; };
	  services.mysql = { enable = true; settings.mysqld.socket = "/run/mysqld/mysqld.sock"; };
	  services.httpd.enable = true;
	}`
	want := map[string]map[string]any{
		"postgresql-database": {
			"postgresqlUsername": "postgres",
			"postgresqlPort":     "5433",
			"postgresqlBinDir":   "/nix/store/11111111111111111111111111111111-postgresql-16.4/bin",
		},
		"mysql-database": {"mysqlSocket": "/run/mysqld/mysqld.sock", "mysqlUsername": "root"},
	}
	for _, auth := range []bool{false, true} {
		if d := cmp.Diff(want, generateContainers(t, machine, auth)); d != "" {
			t.Errorf("enableAuthentication %t (-want +got):\n%s", auth, d)
		}
	}
	if got := generateContainers(t, `{ services.postgresql.enable = false; }`, false); len(got) != 0 {
		t.Errorf("no services: %v", got)
	}
	if got := generateContainers(t, `{ }`, false); len(got) != 0 {
		t.Errorf("empty config: %v", got)
	}
}

// TestPackageInstallsShareFiles: nix/package.nix installs both files Disnix
// tooling reads into share/dysnomia, from files that exist here.
func TestPackageInstallsShareFiles(t *testing.T) {
	pkg := string(readFile(t, "nix/package.nix"))
	for _, f := range []string{"util", "generate-containers.nix"} {
		line := fmt.Sprintf(`install -Dm644 ${../share/dysnomia/%s} "$out/share/dysnomia/%s"`, f, f)
		if !strings.Contains(pkg, line) {
			t.Errorf("nix/package.nix lacks %q", line)
		}
		readFile(t, "share/dysnomia/"+f)
	}
}
