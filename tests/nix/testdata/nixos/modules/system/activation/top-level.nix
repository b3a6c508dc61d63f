# Mirrors system.build of nixpkgs
# nixos/modules/system/activation/top-level.nix (pinned rev): internal,
# lazyAttrsOf (uniq unspecified), default { }.
{ lib, ... }:
{
  options.system.build = lib.mkOption {
    internal = true;
    default = { };
    type = lib.types.lazyAttrsOf (lib.types.uniq lib.types.unspecified);
  };
}
