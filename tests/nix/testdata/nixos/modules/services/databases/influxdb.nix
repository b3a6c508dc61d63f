# Mirrors the declarations of nixpkgs
# nixos/modules/services/databases/influxdb.nix (read at 013635633ffe) that
# Dysnomia's module reads: enable (bool, false), package
# (mkPackageOption pkgs "influxdb"), user and group ("influxdb"), dataDir
# ("/var/db/influxdb", types.path), extraConfig (types.attrs, merged over
# the module's defaults: http.bind-address ":8086", meta.bind-address
# ":8088"). The config part keeps only what others see.
{
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
in
{
  options.services.influxdb = {
    enable = mkOption {
      type = types.bool;
      default = false;
    };
    package = lib.mkPackageOption pkgs "influxdb" { };
    user = mkOption {
      type = types.str;
      default = "influxdb";
    };
    group = mkOption {
      type = types.str;
      default = "influxdb";
    };
    dataDir = mkOption {
      type = types.path;
      default = "/var/db/influxdb";
    };
    extraConfig = mkOption {
      type = types.attrs;
      default = { };
    };
  };
}
