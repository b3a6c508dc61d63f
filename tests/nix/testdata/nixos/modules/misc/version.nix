# Mirrors system.stateVersion of nixpkgs nixos/modules/misc/version.nix
# (pinned rev): a string; the tests' base configuration sets it, as every
# real configuration does.
{ lib, ... }:
{
  options.system.stateVersion = lib.mkOption { type = lib.types.str; };
}
