# Mirrors nixpkgs nixos/modules/misc/ids.nix (pinned rev): ids.uids and
# ids.gids, internal, untyped; disnix.nix reads ids.gids.disnix (the
# number here is a placeholder, nothing reads it).
{ lib, ... }:
{
  options.ids = {
    uids = lib.mkOption { internal = true; };
    gids = lib.mkOption { internal = true; };
  };
  config.ids.uids = { };
  config.ids.gids.disnix = 33;
}
