# Mirrors the declarations of nixpkgs
# nixos/modules/services/databases/mysql.nix that Dysnomia's
# module and nixpkgs' Disnix and Dysnomia modules read: enable, package
# (types.package, no default: a configuration must name one, e.g.
# pkgs.mariadb), user and group ("mysql"), dataDir, settings (the type of
# pkgs.formats.ini { listsAsDuplicateKeys = true; }: sections of atoms or
# lists of atoms; config sets mysqld.datadir and a default mysqld.port).
# (The revisions of this file readable here are older than the pin; these
# declarations have not changed since settings replaced extraOptions.)
# The config part keeps only what others see.
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.mysql;
  inherit (lib) mkOption types;
  iniAtom = types.nullOr (
    types.oneOf [
      types.bool
      types.int
      types.float
      types.str
    ]
  );
in
{
  options.services.mysql = {
    enable = lib.mkEnableOption "MySQL server";
    package = mkOption { type = types.package; };
    user = mkOption {
      type = types.str;
      default = "mysql";
    };
    group = mkOption {
      type = types.str;
      default = "mysql";
    };
    dataDir = mkOption {
      type = types.path;
      default = "/var/lib/mysql";
    };
    settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.either iniAtom (types.listOf iniAtom)));
      default = { };
    };
  };

  config = lib.mkIf cfg.enable {
    services.mysql.settings.mysqld = {
      datadir = cfg.dataDir;
      port = lib.mkDefault 3306;
    };
    environment.systemPackages = [ cfg.package ];
    systemd.services.mysql = {
      description = "MySQL Server";
      after = [ "network.target" ];
      wantedBy = [ "multi-user.target" ];
      path = [ cfg.package ];
      serviceConfig.ExecStart = "${cfg.package}/bin/mysqld";
    };
  };
}
