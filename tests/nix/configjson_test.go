package nix

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// project evaluates nixos-module/config-json.nix on a fixture of option
// values and returns the JSON.
func project(t *testing.T, fixture string) []byte {
	t.Helper()
	return evalJSON(t, "import "+file("nixos-module/config-json.nix")+" (import "+file(fixture)+")")
}

// TestConfigJSONContract is the contract between the NixOS module and the
// Go decoder: the projection of fixture option values is exactly the
// expected JSON, and config.DecodeSystem accepts it.
func TestConfigJSONContract(t *testing.T) {
	for _, tc := range []struct {
		name, fixture, want string
	}{
		// The decoder's own golden example (docs/system-config.md).
		{"golden", "tests/nix/testdata/golden-options.nix", "internal/config/testdata/system/golden.json"},
		// Every branch of the projection.
		{"full", "tests/nix/testdata/full-options.nix", "tests/nix/testdata/full.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := project(t, tc.fixture)
			want := readFile(t, tc.want)
			if diff := cmp.Diff(decodeJSON(t, tc.want, want), decodeJSON(t, "projection", got)); diff != "" {
				t.Errorf("projection of %s differs from %s (-want +got):\n%s", tc.fixture, tc.want, diff)
			}
			if _, err := config.DecodeSystem(got); err != nil {
				t.Errorf("config.DecodeSystem refuses the projection: %v\n%s", err, got)
			}
		})
	}
}

// TestConfigJSONDecoded checks what the Go side reads from the full
// fixture: the per-type mapping of passwordFile and owner, the secret files,
// and the policies.
func TestConfigJSONDecoded(t *testing.T) {
	s, err := config.DecodeSystem(project(t, "tests/nix/testdata/full-options.nix"))
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		StateDir     string
		Secrets      map[string]map[string]string
		Servers      map[string]string
		Owners       map[string]string
		Snapshots    config.SnapshotPolicy
		Garbage      config.GarbagePolicy
		ComponentsOf map[string][]string
	}
	got := summary{
		StateDir:     s.StateDir,
		Secrets:      map[string]map[string]string{},
		Servers:      map[string]string{},
		Owners:       map[string]string{},
		Snapshots:    s.Snapshots,
		Garbage:      s.Garbage,
		ComponentsOf: map[string][]string{},
	}
	for _, name := range s.ContainerNames() {
		c := s.Container(name)
		if len(c.SecretFiles) > 0 {
			got.Secrets[name] = c.SecretFiles
		}
		if c.ServerPackage != "" {
			got.Servers[name] = c.ServerPackage
		}
		if comps := s.ComponentNames(name); len(comps) > 0 {
			got.ComponentsOf[name] = comps
		}
		for _, comp := range s.ComponentNames(name) {
			for _, key := range []string{"postgresqlOwner", "sqliteOwner"} {
				if v, ok := s.Components[name][comp].Properties.Get(key); ok {
					got.Owners[name+"/"+comp] = key + "=" + v
				}
			}
		}
	}
	want := summary{
		StateDir: "/srv/dysnomia",
		Secrets: map[string]map[string]string{
			"postgresql-database": {"postgresqlPasswordFile": "/run/keys/pg"},
			"mysql-database":      {"mysqlPasswordFile": "/run/keys/mysql", "mysqlExtraFile": "/run/keys/mysql-extra"},
		},
		Servers: map[string]string{
			"postgresql-database": "/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-postgresql-16.4",
			"mysql-database":      "/nix/store/1bj3g9nq8x2m7k0z4c5v6b7n8m9q0r1s-mariadb-server-11.4.8",
		},
		Owners: map[string]string{
			"postgresql-database/app": "postgresqlOwner=app",
			"sqlite-database/cache":   "sqliteOwner=app:app",
		},
		Snapshots: config.SnapshotPolicy{BeforeUpgrade: "always", Keep: 0, OnFailure: "continue", OnBoot: "skip", RestoreAfterUpgrade: false},
		Garbage:   config.GarbagePolicy{Removed: "delete"},
		ComponentsOf: map[string][]string{
			"postgresql-database": {"app"},
			"mysql-database":      {"shop"},
			"sqlite-database":     {"cache"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded full fixture (-want +got):\n%s", diff)
	}
}
