# Mirrors system.activationScripts of nixpkgs
# nixos/modules/system/activation/activation-script.nix (pinned rev): by
# name, a string or { deps, text, supportsDryActivation }.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.system.activationScripts = mkOption {
    default = { };
    type = types.attrsOf (
      types.either types.str (
        types.submodule {
          options = {
            deps = mkOption {
              type = types.listOf types.str;
              default = [ ];
            };
            text = mkOption { type = types.lines; };
            supportsDryActivation = mkOption {
              type = types.bool;
              default = false;
            };
          };
        }
      )
    );
  };
}
