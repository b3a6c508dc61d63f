# Mirrors nixpkgs nixos/modules/services/misc/disnix.nix (read at
# 027e1595, the version of the pinned rev), declarations and the config
# that touches Dysnomia: it turns services.dysnomia.enable on, reads
# services.dysnomia.package into disnix.service's PATH, makes
# disnix.service want dysnomia.target, and hands DYSNOMIA_CONTAINERS_PATH
# and DYSNOMIA_MODULES_PATH from environment.variables to the service
# (not DYSNOMIA_STATEDIR: Disnix's dysnomia calls use the state directory
# the service's environment gives, else the tool's default). The D-Bus and
# group settings, and the Tomcat ones but javaOpts, sharedLibs and webapps
# (set only for useWebServiceInterface), are kept so that their options
# are checked.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.disnix;
in
{
  options.services.disnix = {
    enable = lib.mkEnableOption "Disnix";
    enableMultiUser = lib.mkOption {
      type = lib.types.bool;
      default = true;
    };
    useWebServiceInterface = lib.mkEnableOption "the DisnixWebService interface running on Apache Tomcat";
    package = lib.mkPackageOption pkgs "disnix" { };
    enableProfilePath = lib.mkEnableOption "exposing the Disnix profiles in the system's PATH";
    profiles = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ "default" ];
    };
  };

  config = lib.mkIf cfg.enable {
    services.dysnomia.enable = true;

    environment.systemPackages = [ pkgs.disnix ] ++ lib.optional cfg.useWebServiceInterface pkgs.DisnixWebService;
    environment.variables.PATH = lib.optionals cfg.enableProfilePath (
      map (profileName: "/nix/var/nix/profiles/disnix/${profileName}/bin") cfg.profiles
    );
    environment.variables.DISNIX_REMOTE_CLIENT = lib.optionalString cfg.enableMultiUser "disnix-client";

    services.dbus.enable = true;
    services.dbus.packages = [ pkgs.disnix ];

    services.tomcat.enable = cfg.useWebServiceInterface;
    services.tomcat.extraGroups = [ "disnix" ];

    users.groups.disnix.gid = config.ids.gids.disnix;

    systemd.services = {
      disnix = lib.mkIf cfg.enableMultiUser {
        description = "Disnix server";
        wants = [ "dysnomia.target" ];
        wantedBy = [ "multi-user.target" ];
        after = [
          "dbus.service"
        ]
        ++ lib.optional config.services.httpd.enable "httpd.service"
        ++ lib.optional config.services.mysql.enable "mysql.service"
        ++ lib.optional config.services.postgresql.enable "postgresql.target"
        ++ lib.optional config.services.tomcat.enable "tomcat.service"
        ++ lib.optional config.services.svnserve.enable "svnserve.service"
        ++ lib.optional config.services.mongodb.enable "mongodb.service"
        ++ lib.optional config.services.influxdb.enable "influxdb.service";

        restartIfChanged = false;

        path = [
          config.nix.package
          cfg.package
          config.services.dysnomia.package
          "/run/current-system/sw"
        ];

        environment = {
          HOME = "/root";
        }
        // (lib.optionalAttrs (config.environment.variables.DYSNOMIA_CONTAINERS_PATH or null != null) {
          inherit (config.environment.variables) DYSNOMIA_CONTAINERS_PATH;
        })
        // (lib.optionalAttrs (config.environment.variables.DYSNOMIA_MODULES_PATH or null != null) {
          inherit (config.environment.variables) DYSNOMIA_MODULES_PATH;
        });

        serviceConfig.ExecStart = "${cfg.package}/bin/disnix-service";
      };
    };
  };
}
