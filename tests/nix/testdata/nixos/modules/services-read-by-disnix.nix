# The options of other nixpkgs modules that nixpkgs' disnix.nix and
# dysnomia.nix read or set, each with the file it mirrors (pinned rev).
# (ejabberd, svnserve and influxdb have stubs of their own, in
# services/networking, services/misc and services/databases.)
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    # nixos/modules/services/system/dbus.nix
    services.dbus.enable = mkOption {
      type = types.bool;
      default = false;
    };
    services.dbus.packages = mkOption {
      type = types.listOf types.path;
      default = [ ];
    };
    # nixos/modules/services/web-servers/tomcat.nix
    services.tomcat.enable = lib.mkEnableOption "Apache Tomcat";
    services.tomcat.extraGroups = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    services.tomcat.axis2.enable = lib.mkEnableOption "Apache Axis2 container";
    # nixos/modules/services/web-servers/apache-httpd/default.nix
    services.httpd.enable = lib.mkEnableOption "the Apache HTTP Server";
    # nixos/modules/services/databases/mongodb.nix
    services.mongodb.enable = lib.mkEnableOption "the MongoDB server";
    # nixos/modules/virtualisation/docker.nix
    virtualisation.docker.enable = lib.mkEnableOption "docker";
    # nixos/modules/config/nix.nix
    nix.package = mkOption {
      type = types.package;
      default = pkgs.nix;
    };
  };
}
