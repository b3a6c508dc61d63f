# Mirrors users.groups of nixpkgs nixos/modules/config/users-groups.nix
# (pinned rev), the part disnix.nix sets: by name, gid (nullOr int,
# default null) and members (listOf str, default [ ]).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.users.groups = mkOption {
    default = { };
    type = types.attrsOf (
      types.submodule {
        options = {
          gid = mkOption {
            type = types.nullOr types.int;
            default = null;
          };
          members = mkOption {
            type = types.listOf types.str;
            default = [ ];
          };
        };
      }
    );
  };
}
