package nix

import (
	"strings"
	"testing"
)

// failedChecks evaluates nixos-module/checks.nix on the base fixture changed
// by edit (a Nix function from the base values to the values under test) and
// returns the messages of the failed assertions.
func failedChecks(t *testing.T, edit string) []string {
	t.Helper()
	expr := `let
	  base = import ` + file("tests/nix/testdata/checks-base.nix") + `;
	  edit = ` + edit + `;
	  checks = import ` + file("nixos-module/checks.nix") + ` (edit base);
	in map (c: c.message) (builtins.filter (c: !c.assertion) checks)`
	var msgs []string
	for _, m := range decodeJSON(t, "failed checks", evalJSON(t, expr)).([]any) {
		msgs = append(msgs, m.(string))
	}
	return msgs
}

// TestChecks runs the module's assertions on broken option values: each
// case must fail exactly the checks listed, with messages that name the
// option to change.
func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit string   // Nix: base -> option values
		want []string // each a substring of one failed message, in order
	}{
		{"valid", `b: b`, nil},
		{"component of an undeclared container",
			`b: b // { components = b.components // { redis.cache = b.components.postgresql-database.app; }; }`,
			[]string{`services.dysnomia.components.redis: no container redis is declared; declare services.dysnomia.containers.redis.type`}},
		{"password file in the store",
			`b: b // { containers = b.containers // { mysql-database = b.containers.mysql-database // { passwordFile = "/nix/store/4fm6j2rt1a5q0n3c7g8y9f0r1q2s3w4x-pw"; }; }; }`,
			[]string{`services.dysnomia.containers.mysql-database.passwordFile = "/nix/store/4fm6j2rt1a5q0n3c7g8y9f0r1q2s3w4x-pw" is in the Nix store`}},
		{"relative password file",
			`b: b // { containers = b.containers // { mysql-database = b.containers.mysql-database // { passwordFile = "keys/mysql"; }; }; }`,
			[]string{`services.dysnomia.containers.mysql-database.passwordFile = "keys/mysql": give the absolute path`}},
		{"secret file in the store",
			`b: b // { containers = b.containers // { files = b.containers.files // { secretFiles.deployToken = "/nix/store"; }; }; }`,
			[]string{`services.dysnomia.containers.files.secretFiles.deployToken = "/nix/store" is in the Nix store`}},
		{"secret file also a property",
			`b: b // { containers = b.containers // { files = b.containers.files // { properties.deployToken = "x"; }; }; }`,
			[]string{`services.dysnomia.containers.files.secretFiles.deployToken: deployToken is also set in services.dysnomia.containers.files.properties`}},
		{"password in a property",
			`b: b // { containers = b.containers // { postgresql-database = b.containers.postgresql-database // { properties.postgresqlPassword = "hunter2"; }; }; }`,
			[]string{`services.dysnomia.containers.postgresql-database.properties.postgresqlPassword: a password must not be written into the configuration`}},
		{"type as a property",
			`b: b // { containers = b.containers // { files = b.containers.files // { properties.type = "fileset"; }; }; }`,
			[]string{`services.dysnomia.containers.files.properties.type: the type is not a property`}},
		{"bad property name",
			`b: b // { properties = b.properties // { "2nd" = "x"; }; }`,
			[]string{`services.dysnomia.properties."2nd": "2nd" is not a property name`}},
		{"bad container name",
			`b: b // { containers = b.containers // { "my db" = b.containers.files // { secretFiles = { }; }; }; }`,
			[]string{`services.dysnomia.containers."my db": "my db" is not a valid container name`}},
		{"bad component name",
			`b: b // { components = b.components // { postgresql-database.".app" = b.components.postgresql-database.app; }; }`,
			[]string{`services.dysnomia.components.postgresql-database.".app": ".app" is not a valid component name`}},
		{"password file for a type without one",
			`b: b // { containers = b.containers // { files = b.containers.files // { passwordFile = "/run/keys/files"; }; }; }`,
			[]string{`services.dysnomia.containers.files.passwordFile: type "fileset" has no password file property; use services.dysnomia.containers.files.secretFiles.<property>`}},
		{"password file given twice",
			`b: b // { containers = b.containers // { mysql-database = b.containers.mysql-database // { secretFiles.mysqlPasswordFile = "/run/keys/other"; }; }; }`,
			[]string{`services.dysnomia.containers.mysql-database.passwordFile: also given as services.dysnomia.containers.mysql-database.secretFiles.mysqlPasswordFile`}},
		{"owner for a type without owners",
			`b: b // { components = b.components // { mysql-database.shop = b.components.mysql-database.shop // { owner = "shop"; }; }; }`,
			[]string{`services.dysnomia.components.mysql-database.shop.owner: type "mysql-database" has no owner property`}},
		{"owner given twice",
			`b: b // { components = b.components // { postgresql-database.app = b.components.postgresql-database.app // { properties.postgresqlOwner = "other"; }; }; }`,
			[]string{`services.dysnomia.components.postgresql-database.app.owner: postgresqlOwner is also set`}},
		{"init scripts for a type without them",
			`b: b // { components = b.components // { files.site = b.components.files.site // { component = null; sql = "SELECT 1;"; }; }; }`,
			[]string{`services.dysnomia.components.files.site.initSQL: container files has type "fileset", which takes no init scripts`}},
		{"init scripts and a component",
			`b: b // { components = b.components // { postgresql-database.app = b.components.postgresql-database.app // { component = b.components.files.site.component; }; }; }`,
			[]string{`services.dysnomia.components.postgresql-database.app: set either initSQL/sql`}},
		{"nothing to deploy",
			`b: b // { components = b.components // { postgresql-database.app = b.components.postgresql-database.app // { sql = null; }; }; }`,
			[]string{`services.dysnomia.components.postgresql-database.app: nothing to deploy`}},
		{"relative state directory",
			`b: b // { stateDir = "state"; }`,
			[]string{`services.dysnomia.stateDir = "state": want an absolute directory`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := failedChecks(t, tc.edit)
			if len(got) != len(tc.want) {
				t.Fatalf("%d failed checks, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("message %d:\n  %s\nwant it to contain:\n  %s", i, got[i], w)
				}
			}
		})
	}
}
