# Option values of services.dysnomia, as the NixOS module hands them to
# nixos-module/config-json.nix (defaults applied, component paths resolved),
# chosen so that the projection is exactly
# internal/config/testdata/system/golden.json.
{
  stateDir = "/var/state/dysnomia";
  properties = {
    hostname = "db1";
    system = "x86_64-linux";
    supportedTypes = [ "postgresql-database" "fileset" ];
  };
  containers.postgresql-database = {
    type = "postgresql-database";
    properties = {
      postgresqlUsername = "postgres";
      postgresqlPort = "5432";
    };
    passwordFile = null;
    secretFiles = { };
    serverPackage = "/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-postgresql-16.4";
  };
  components.postgresql-database.app = {
    path = "/nix/store/8ab6b9yv6v1z3r2m1w6m4m0w5l9l2x7c-app";
    owner = "app";
    properties = { };
  };
  snapshots = {
    beforeUpgrade = "changed";
    keep = 10;
    onFailure = "abort";
    onBoot = "snapshot";
    restoreAfterUpgrade = true;
  };
  garbage.removed = "keep";
}
