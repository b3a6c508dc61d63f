# The containers a NixOS machine offers, for Disnix's infrastructure model.
# disnixos imports <this package>/share/dysnomia/generate-containers.nix
# (option disnixInfrastructure.generateContainersExpr) with the machine's
# evaluated configuration:
#
#   import ./generate-containers.nix { inherit config lib enableAuthentication; }
#
# and gets an attribute set: container name -> attribute set of the
# container's properties (what `dysnomia-containers --generate-expr` prints
# under `containers` on the running machine). The type is not a property.
#
#   - With this package's NixOS module enabled (services.dysnomia, which
#     sets system.build.dysnomiaConfig): the containers it declares, with
#     their properties. The paths of files holding secrets (passwordFile,
#     secretFiles) are published only with enableAuthentication, like
#     upstream's credentials; they are paths, never the secrets.
#   - Otherwise: the containers that module would declare for the machine's
#     services (its services.dysnomia.generateContainers): postgresql-database
#     for services.postgresql, mysql-database for services.mysql, with the
#     same properties.
#
# Builtins only (lib is accepted and not needed), so that it evaluates
# against a plain attribute set as well as a NixOS configuration.
{
  config,
  lib ? null,
  enableAuthentication ? false,
  ...
}:
let
  services = config.services or { };
  enabled = name: (services.${name} or { }).enable or false;

  ours = (config.system.build or { }) ? dysnomiaConfig;

  # The property that names a container's password file, per type (as
  # nixos-module/types.nix has it).
  passwordProperty = {
    postgresql-database = "postgresqlPasswordFile";
    mysql-database = "mysqlPasswordFile";
  };

  secrets = c:
    (c.secretFiles or { })
    // (
      if (c.passwordFile or null) != null && passwordProperty ? ${c.type}
      then { ${passwordProperty.${c.type}} = c.passwordFile; }
      else { }
    );

  declared = builtins.mapAttrs
    (_: c: (c.properties or { }) // (if enableAuthentication then secrets c else { }))
    (services.dysnomia.containers or { });

  pg = services.postgresql;
  mysql = services.mysql;
  generated =
    (if enabled "postgresql" then {
      postgresql-database = {
        postgresqlUsername = "postgres";
        postgresqlPort = toString (pg.settings.port or pg.port or 5432);
      } // (if pg ? package then { postgresqlBinDir = "${pg.package}/bin"; } else { });
    } else { })
    // (if enabled "mysql" then {
      mysql-database = {
        mysqlSocket = mysql.settings.mysqld.socket or "/run/mysqld/mysqld.sock";
        mysqlUsername = "root";
      };
    } else { });
in
if ours then declared else generated
