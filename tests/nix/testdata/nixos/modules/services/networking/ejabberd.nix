# Mirrors the declarations of nixpkgs
# nixos/modules/services/networking/ejabberd.nix (read at 03fe97654b98) that
# Dysnomia's module reads: enable (bool, false), package
# (mkPackageOption pkgs "ejabberd"), user and group ("ejabberd"), configDir
# and configFile (nullOr path, null), spoolDir ("/var/lib/ejabberd"),
# logsDir ("/var/log/ejabberd"), ctlConfig (lines, ""). nixpkgs' unit runs
# `ejabberdctl [--config F] [--config-dir D] --ctl-config <writeText
# "ejabberdctl.cfg" "ERL_EPMD_ADDRESS=127.0.0.1\n<ctlConfig>\n"> --spool S
# --logs L`. The config part keeps only what others see.
{
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
in
{
  options.services.ejabberd = {
    enable = mkOption {
      type = types.bool;
      default = false;
    };
    package = lib.mkPackageOption pkgs "ejabberd" { };
    user = mkOption {
      type = types.str;
      default = "ejabberd";
    };
    group = mkOption {
      type = types.str;
      default = "ejabberd";
    };
    configDir = mkOption {
      type = types.nullOr types.path;
      default = null;
    };
    spoolDir = mkOption {
      type = types.path;
      default = "/var/lib/ejabberd";
    };
    logsDir = mkOption {
      type = types.path;
      default = "/var/log/ejabberd";
    };
    configFile = mkOption {
      type = types.nullOr types.path;
      default = null;
    };
    ctlConfig = mkOption {
      type = types.lines;
      default = "";
    };
  };
}
