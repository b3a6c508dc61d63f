# Mirrors the declarations of nixpkgs
# nixos/modules/services/databases/postgresql.nix (the 25.11 version, as at
# the pinned rev: finalPackage, settings.port, postgresql.target) that
# Dysnomia's module and nixpkgs' Disnix and Dysnomia modules read: enable,
# package (no default declared; config sets it by system.stateVersion,
# postgresql_17 from 25.11 on), finalPackage (read-only, package with
# extensions), dataDir, ensureDatabases, ensureUsers, settings (a submodule
# with a freeform part and port, default 5432), and the renamed
# services.postgresql.port. The config part keeps only what others see:
# the package default, postgresql.target and the two units.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.postgresql;
  inherit (lib) mkOption types;
in
{
  imports = [
    (lib.mkRenamedOptionModule [ "services" "postgresql" "port" ] [ "services" "postgresql" "settings" "port" ])
  ];

  options.services.postgresql = {
    enable = lib.mkEnableOption "PostgreSQL Server";
    package = mkOption { type = types.package; };
    finalPackage = mkOption {
      type = types.package;
      readOnly = true;
      default = cfg.package;
    };
    dataDir = mkOption { type = types.path; };
    ensureDatabases = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    ensureUsers = mkOption {
      type = types.listOf (
        types.submodule {
          options = {
            name = mkOption { type = types.str; };
            ensureDBOwnership = mkOption {
              type = types.bool;
              default = false;
            };
          };
        }
      );
      default = [ ];
    };
    settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf (
          types.oneOf [
            types.bool
            types.float
            types.int
            types.str
          ]
        );
        options.port = mkOption {
          type = types.port;
          default = 5432;
        };
      };
      default = { };
    };
  };

  config = lib.mkIf cfg.enable {
    services.postgresql.package = lib.mkDefault pkgs.postgresql_17;
    services.postgresql.dataDir = lib.mkDefault "/var/lib/postgresql/${cfg.package.psqlSchema}";
    environment.systemPackages = [ cfg.finalPackage ];
    systemd.targets.postgresql = {
      description = "PostgreSQL";
      wantedBy = [ "multi-user.target" ];
      requires = [
        "postgresql.service"
        "postgresql-setup.service"
      ];
    };
    systemd.services.postgresql = {
      description = "PostgreSQL Server";
      after = [ "network.target" ];
      wants = [ "postgresql.target" ];
      partOf = [ "postgresql.target" ];
      environment.PGDATA = cfg.dataDir;
      path = [ cfg.finalPackage ];
      serviceConfig.ExecStart = "${cfg.finalPackage}/bin/postgres";
    };
    systemd.services.postgresql-setup = {
      description = "PostgreSQL Setup Scripts";
      requires = [ "postgresql.service" ];
      after = [ "postgresql.service" ];
      path = [ cfg.finalPackage ];
      environment.PGPORT = toString cfg.settings.port;
    };
  };
}
