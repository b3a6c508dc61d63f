# Mirrors nixpkgs nixos/modules/services/misc/dysnomia.nix (read at
# cf5988c6, the version of the pinned rev), the module for upstream (bash)
# Dysnomia that this project's module disables and replaces. The
# declarations are exactly nixpkgs': names, types, defaults. The config
# part makes the same outputs in a shorter way (nixpkgs builds the three
# /etc/dysnomia entries as directories and files with shell; here they are
# stub derivations carrying their text):
#   - /etc/dysnomia/{containers,components,properties};
#   - environment.variables DYSNOMIA_STATEDIR = /var/state/dysnomia-nixos
#     (login shells only: disnix.service is not given it),
#     DYSNOMIA_CONTAINERS_PATH = extraContainerPaths + /etc/dysnomia/containers,
#     DYSNOMIA_MODULES_PATH = extraModulePaths + /etc/dysnomia/modules;
#   - the package (pkgs.dysnomia.override) in systemPackages;
#   - properties hostname, system, supportedTypes;
#   - containers process and wrapper always, postgresql-database and
#     mysql-database when their servers are enabled (postgresqlUsername and
#     mysqlUsername only with enableAuthentication), recursively updated
#     with extraContainerProperties;
#   - boot.extraSystemdUnitPaths = [ "/etc/systemd-mutable/system" ] and an
#     activation script that writes dysnomia.target there;
#   - the top-level `dysnomia` alias of services.dysnomia.
{
  pkgs,
  lib,
  config,
  ...
}:
let
  cfg = config.services.dysnomia;
  printProperties =
    properties:
    lib.concatMapStrings (
      n:
      let
        v = properties.${n};
      in
      if lib.isList v then "${n}=(${lib.concatMapStrings (e: "\"${toString e}\" ") v})\n" else "${n}=\"${toString v}\"\n"
    ) (builtins.attrNames properties);
  flags = {
    enableMySQLDatabase = config.services.mysql.enable;
    enablePostgreSQLDatabase = config.services.postgresql.enable;
  };
in
{
  options = {
    services.dysnomia = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = false;
      };
      enableAuthentication = lib.mkOption {
        type = lib.types.bool;
        default = false;
      };
      package = lib.mkOption { type = lib.types.path; };
      properties = lib.mkOption {
        default = { };
        type = lib.types.attrs;
      };
      containers = lib.mkOption {
        default = { };
        type = lib.types.attrsOf lib.types.attrs;
      };
      components = lib.mkOption {
        default = { };
        type = lib.types.attrsOf lib.types.attrs;
      };
      extraContainerProperties = lib.mkOption {
        default = { };
        type = lib.types.attrs;
      };
      extraContainerPaths = lib.mkOption {
        default = [ ];
        type = lib.types.listOf lib.types.path;
      };
      extraModulePaths = lib.mkOption {
        default = [ ];
        type = lib.types.listOf lib.types.path;
      };
      enableLegacyModules = lib.mkOption {
        type = lib.types.bool;
        default = true;
      };
    };
  };

  imports = [
    (lib.mkRenamedOptionModule [ "dysnomia" ] [ "services" "dysnomia" ])
  ];

  config = lib.mkIf cfg.enable {
    environment.etc = {
      "dysnomia/containers".source = pkgs.writeText "dysnomia-containers" (
        lib.concatMapStrings (n: "[${n}]\n${printProperties cfg.containers.${n}}type=${n}\n") (
          builtins.attrNames cfg.containers
        )
      );
      "dysnomia/components".source = pkgs.writeText "dysnomia-components" (
        lib.concatMapStrings (
          c: lib.concatMapStrings (n: "${c}/${n} -> ${cfg.components.${c}.${n}}\n") (builtins.attrNames cfg.components.${c})
        ) (builtins.attrNames cfg.components)
      );
      "dysnomia/properties".source = pkgs.writeText "dysnomia-properties" (printProperties cfg.properties);
    };

    environment.variables = {
      DYSNOMIA_STATEDIR = "/var/state/dysnomia-nixos";
      DYSNOMIA_CONTAINERS_PATH = "${lib.concatMapStrings (p: "${p}:") cfg.extraContainerPaths}/etc/dysnomia/containers";
      DYSNOMIA_MODULES_PATH = "${lib.concatMapStrings (p: "${p}:") cfg.extraModulePaths}/etc/dysnomia/modules";
    };

    environment.systemPackages = [ cfg.package ];

    services.dysnomia.package = pkgs.dysnomia.override (_: flags // { enableLegacy = cfg.enableLegacyModules; });

    services.dysnomia.properties = {
      hostname = config.networking.hostName;
      inherit (pkgs.stdenv.hostPlatform) system;
      supportedTypes = [
        "echo"
        "fileset"
        "process"
        "wrapper"
        "systemd-unit"
        "sysvinit-script"
        "nixos-configuration"
      ]
      ++ lib.optional flags.enableMySQLDatabase "mysql-database"
      ++ lib.optional flags.enablePostgreSQLDatabase "postgresql-database";
    };

    services.dysnomia.containers = lib.recursiveUpdate (
      {
        process = { };
        wrapper = { };
      }
      // lib.optionalAttrs config.services.mysql.enable {
        mysql-database = {
          mysqlPort = config.services.mysql.settings.mysqld.port;
          mysqlSocket = "/run/mysqld/mysqld.sock";
        }
        // lib.optionalAttrs cfg.enableAuthentication { mysqlUsername = "root"; };
      }
      // lib.optionalAttrs config.services.postgresql.enable {
        postgresql-database = lib.optionalAttrs cfg.enableAuthentication { postgresqlUsername = "postgres"; };
      }
    ) cfg.extraContainerProperties;

    boot.extraSystemdUnitPaths = [ "/etc/systemd-mutable/system" ];

    system.activationScripts.dysnomia = ''
      mkdir -p /etc/systemd-mutable/system
      if [ ! -f /etc/systemd-mutable/system/dysnomia.target ]
      then
          printf '[Unit]\nDescription=Services that are activated and deactivated by Dysnomia\nAfter=final.target\n' > /etc/systemd-mutable/system/dysnomia.target
      fi
    '';
  };
}
