# Mirrors environment.systemPackages of nixpkgs
# nixos/modules/config/system-path.nix (pinned rev): listOf package,
# default [ ] (nixpkgs adds the required packages in its config part).
{ lib, ... }:
{
  options.environment.systemPackages = lib.mkOption {
    type = lib.types.listOf lib.types.package;
    default = [ ];
  };
}
