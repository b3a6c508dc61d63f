# Valid option values for nixos-module/checks.nix; checks_test.go derives
# each broken case from these.
{
  stateDir = "/var/state/dysnomia";
  properties = {
    hostname = "db1";
    supportedTypes = [ "postgresql-database" "mysql-database" "fileset" ];
  };
  containers = {
    postgresql-database = {
      type = "postgresql-database";
      properties.postgresqlUsername = "postgres";
      passwordFile = null;
      secretFiles = { };
      serverPackage = null;
    };
    mysql-database = {
      type = "mysql-database";
      properties = { };
      passwordFile = "/run/keys/mysql";
      secretFiles = { };
      serverPackage = null;
    };
    files = {
      type = "fileset";
      properties.targetDir = "/srv/site";
      passwordFile = null;
      secretFiles.deployToken = "/run/keys/token";
      serverPackage = null;
    };
  };
  components = {
    postgresql-database.app = {
      initSQL = [ ];
      sql = "CREATE TABLE t (x int);";
      component = null;
      owner = "app";
      properties = { };
    };
    mysql-database.shop = {
      initSQL = [ "/srv/schema.sql" ];
      sql = null;
      component = null;
      owner = null;
      properties = { };
    };
    files.site = {
      initSQL = [ ];
      sql = null;
      component = {
        type = "derivation";
        name = "site";
        outPath = "/nix/store/4fm6j2rt1a5q0n3c7g8y9f0r1q2s3w4x-site";
      };
      owner = null;
      properties = { };
    };
  };
}
