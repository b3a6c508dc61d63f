# Mirrors the declarations of nixpkgs nixos/modules/services/misc/svnserve.nix
# (read at 0fdab8d56046): enable (bool, false) and svnBaseDir ("/repos", no
# type). nixpkgs' unit runs ${pkgs.subversion.out}/bin/svnserve as root.
{ lib, ... }:
{
  options.services.svnserve = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = false;
    };
    svnBaseDir = lib.mkOption { default = "/repos"; };
  };
}
