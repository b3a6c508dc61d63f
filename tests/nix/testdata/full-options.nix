# Option values that exercise every branch of nixos-module/config-json.nix:
# password files mapped per type, secret files, owners mapped per type,
# optional fields left out, a container without components, property values
# of every kind. Expected projection: full.json.
{
  stateDir = "/srv/dysnomia";
  properties = {
    hostname = "db2";
    mem = 8192;
    backup = true;
    supportedTypes = [ "postgresql-database" "mysql-database" "sqlite-database" "fileset" ];
  };
  containers = {
    postgresql-database = {
      type = "postgresql-database";
      properties = { postgresqlUsername = "postgres"; postgresqlPort = "5433"; };
      passwordFile = "/run/keys/pg";
      secretFiles = { };
      # A derivation-like value: the projection keeps its store path.
      serverPackage = {
        type = "derivation";
        name = "postgresql-16.4";
        outPath = "/nix/store/0c3v9kq2q7m4g1yf1g8mq9q2r0k0j1sd-postgresql-16.4";
      };
    };
    mysql-database = {
      type = "mysql-database";
      properties = { mysqlSocket = "/run/mysqld/mysqld.sock"; };
      passwordFile = "/run/keys/mysql";
      secretFiles = { mysqlExtraFile = "/run/keys/mysql-extra"; };
      serverPackage = "/nix/store/1bj3g9nq8x2m7k0z4c5v6b7n8m9q0r1s-mariadb-server-11.4.8";
    };
    sqlite-database = {
      type = "sqlite-database";
      properties = { sqliteDatabaseDir = "/var/lib/app-db"; };
      passwordFile = null;
      secretFiles = { };
      serverPackage = null;
    };
    files = {
      type = "fileset";
      properties = { };
      passwordFile = null;
      secretFiles = { };
      serverPackage = null;
    };
  };
  components = {
    postgresql-database.app = {
      path = "/nix/store/8ab6b9yv6v1z3r2m1w6m4m0w5l9l2x7c-app";
      owner = "app";
      properties = { postgresqlEncoding = "UTF8"; };
    };
    mysql-database.shop = {
      path = "/nix/store/2ck4h0pr9y3n8l1a5d6w7c8p9n0r1s2x-shop";
      owner = null;
      properties = { };
    };
    sqlite-database.cache = {
      path = "/nix/store/3dl5i1qs0z4p9m2b6f7x8d9q0p1s2w3v-cache";
      owner = "app:app";
      properties = { };
    };
    files = { };
  };
  snapshots = {
    beforeUpgrade = "always";
    keep = 0;
    onFailure = "continue";
    onBoot = "skip";
    restoreAfterUpgrade = false;
  };
  garbage.removed = "delete";
}
