# Mirrors the declarations of nixpkgs nixos/modules/system/boot/systemd.nix
# (pinned rev) that the modules here set: systemd.services and
# systemd.targets (attribute sets of units with the options of
# nixos/lib/systemd-unit-options.nix: the common unit options, the service
# options, and unitOption, the type of serviceConfig/unitConfig values,
# which concatenates lists and otherwise wants equal definitions), and
# boot.extraSystemdUnitPaths (listOf str, default [ ]). Only the unit
# options used by Dysnomia's module, nixpkgs' Disnix, Dysnomia, PostgreSQL
# and MySQL modules are declared; a module setting another one fails here
# with nixpkgs' "does not exist" error, so a missing one shows.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if lib.any (def: lib.isList def.value) defs' then
        lib.concatMap (def: lib.toList def.value) defs'
      else
        lib.mergeEqualOption loc defs';
  };
  unitNames = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };
  commonUnitOptions = {
    enable = mkOption {
      type = types.bool;
      default = true;
    };
    description = mkOption {
      type = types.str;
      default = "";
    };
    requires = unitNames;
    wants = unitNames;
    upholds = unitNames;
    after = unitNames;
    before = unitNames;
    bindsTo = unitNames;
    partOf = unitNames;
    conflicts = unitNames;
    requisite = unitNames;
    wantedBy = unitNames;
    requiredBy = unitNames;
    upheldBy = unitNames;
    unitConfig = mkOption {
      type = types.attrsOf unitOption;
      default = { };
    };
    restartTriggers = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
  };
  serviceOptions = commonUnitOptions // {
    environment = mkOption {
      type = types.attrsOf (
        types.nullOr (
          types.oneOf [
            types.str
            types.path
            types.package
          ]
        )
      );
      default = { };
    };
    path = mkOption {
      type = types.listOf (types.oneOf [ types.package types.str ]);
      default = [ ];
    };
    serviceConfig = mkOption {
      type = types.attrsOf unitOption;
      default = { };
    };
    script = mkOption {
      type = types.lines;
      default = "";
    };
    preStart = mkOption {
      type = types.lines;
      default = "";
    };
    postStart = mkOption {
      type = types.lines;
      default = "";
    };
    restartIfChanged = mkOption {
      type = types.bool;
      default = true;
    };
    reloadIfChanged = mkOption {
      type = types.bool;
      default = false;
    };
    stopIfChanged = mkOption {
      type = types.bool;
      default = true;
    };
    startAt = mkOption {
      type = types.either types.str (types.listOf types.str);
      default = [ ];
    };
  };
in
{
  options = {
    systemd.services = mkOption {
      type = types.attrsOf (types.submodule { options = serviceOptions; });
      default = { };
    };
    systemd.targets = mkOption {
      type = types.attrsOf (types.submodule { options = commonUnitOptions; });
      default = { };
    };
    boot.extraSystemdUnitPaths = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
  };
}
